// patch_map.h - where the instrumentation of one address space is, for the
// layers that must show the program as if it were not patched (debugger
// pcs, memory reads, breakpoints) and for the scheduler (a thread standing
// on glue).
//
// One entry per patched site: the overwritten range [S, E) of the program's
// code (runtime addresses) with its original bytes, and the site's stub.
// The stub's layout follows from the form and the relocated lengths (see
// stub_emitter.h), so an entry is small and lookups are binary searches.
#ifndef RRX_INSTRUMENT_PATCH_MAP_H
#define RRX_INSTRUMENT_PATCH_MAP_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "instrument/branch_sites.h"

namespace rrx::instrument {

struct PatchEntry {
  uint64_t orig_start = 0;  // S, runtime address
  uint64_t stub_start = 0;  // runtime address of the site's stub
  uint8_t orig_length = 0;  // E - S
  uint8_t jcc_length = 0;   // of the jcc, or (engine sites) of the syscall/cpuid
  StubForm form = StubForm::kFlagFree;
  uint8_t num_relocated = 0;  // before the jcc, then num_after after it
  uint8_t num_after = 0;
  uint8_t relocated_length[kMaxRelocated] = {};
  uint8_t original[kMaxRangeBytes] = {};  // bytes of [S, E) before patching
  // A chained stub (form A; BranchSite::chained): after the jcc it runs
  // copies of the num_gap instructions that follow E in the program, then
  // either falls through into the next entry's stub, which starts at its
  // stub_end(), or (falls_through false: that site could not be patched)
  // jumps to gap_end(). Its trap block is not in the stub, where it would
  // be in the way, but at stub_start + trap_offset, with the other trap
  // blocks of its chain (kChainTrapBytes each) just before the chain.
  // With a transfer, the last gap instruction (a jmp, copied as jmp rel32,
  // or a ret) ends the stub: it neither falls through nor jumps back.
  bool chained = false;
  bool falls_through = false;
  GapTransfer transfer = GapTransfer::kNone;
  uint8_t num_gap = 0;
  uint8_t gap_length[kMaxGap] = {};
  int32_t trap_offset = 0;

  uint64_t orig_end() const { return orig_start + orig_length; }
  uint64_t gap_end() const {
    uint64_t at = orig_end();
    for (int i = 0; i < num_gap; ++i) at += gap_length[i];
    return at;
  }
  uint64_t jcc_start() const {  // runtime address of the original jcc/syscall
    uint64_t at = orig_start;
    for (int i = 0; i < num_relocated; ++i) at += relocated_length[i];
    return at;
  }
  uint64_t stub_end() const { return stub_start + stub_length(); }
  uint32_t stub_length() const;
  // False if the fields contradict each other (deserialize() checks).
  bool consistent() const;
};

// Offsets inside a stub, from the entry's form and lengths (stub_emitter.cc
// emits exactly this layout). For form kSyscall the "count sequence" is
// the engine call (lea -128(%rsp),%rsp; call *slot), resume_at is R (where
// the engine returns: lea 128(%rsp),%rsp), jcc_at the `syscall` copy, then
// `jmp +8` and at R + RRX_SITE_HANDLED_SKIP the lea the engine returns to
// when it made the call; there is no trap block (trap_at == length).
// A chained stub has gap copies after the jcc (and those after it), an
// exit jump only if it does not fall through, and no trap block inside
// (trap_at == length; see PatchEntry::trap_offset).
struct StubLayout {
  uint32_t relocated_at[kMaxRelocated];  // copy of relocated i
  uint32_t count_at, count_end;           // glue: the count sequence
  uint32_t resume_at;                     // form A: setter copy; B: jcc copy
  uint32_t jcc_at;                        // the jcc copy (0f 8x rel32)
  uint32_t after_at[kMaxRelocated];       // copy of relocated k + i
  uint32_t gap_at[kMaxGap];               // chained: copy of gap instruction i
  uint32_t exit_jmp_at;                   // glue: jmp to E (chained: to the gap's end)
  uint32_t trap_at;                       // glue: trap block
  uint32_t length;
};
// The fixed parts of a syscall stub (stub_emitter.h).
inline constexpr uint32_t kSiteLeaDownBytes = 5;      // lea -128(%rsp),%rsp
inline constexpr uint32_t kSiteCallBytes = kSiteLeaDownBytes + 7;  // lea; call *slot
inline constexpr uint32_t kSiteLeaBytes = 8;          // lea 128(%rsp),%rsp
inline constexpr uint32_t kSiteSkipJmpBytes = 2;      // jmp +8
// What stands for a kLoop site's instruction in its stub (stub_emitter.h).
inline constexpr uint32_t kLoopEmulationBytes = 13;
// A chained stub's trap block: movq $1, trap_pending; int3; jmp rel32 resume.
inline constexpr uint32_t kChainTrapBytes = 12 + 1 + 5;
// The length of gap instruction i's copy in e's stub.
uint32_t gap_copy_length(const PatchEntry& e, int i);
// The layout of e's stub (from its form, chaining and lengths only).
StubLayout stub_layout(const PatchEntry& e);

class PatchMap {
 public:
  struct Translation {
    uint64_t orig_pc;
    // The thread stands on instrumentation (the jmp at S, a count sequence,
    // a trap block, a stub's final jmp), not on a program instruction;
    // orig_pc is then the program instruction that comes next. The
    // flag-free count sequence keeps the program's %rcx in the tick page's
    // spill slot and count in %rcx: a thread inside it must neither be
    // switched out for another thread of the process nor get a signal
    // handler run before it leaves the glue. In a syscall stub, glue is
    // where %rsp is 128 below the program's (around the engine call).
    bool in_glue;
    // Syscall stubs only. On the jump right after the `syscall` copy (where
    // a thread stands at the syscall's exit): the registers are the
    // program's and orig_pc is the instruction after the syscall, but no
    // program instruction runs from here before that one's image - a
    // single step from here is not yet a program instruction.
    bool after_syscall = false;
    // On the `call` of the engine: R, the address it returns to (the
    // thread's stack pointer is then back to its value at the call).
    uint64_t engine_return = 0;
    // On the stub's first instruction, where the program's `syscall`
    // begins (to_real gives this address for the syscall, so a breakpoint
    // there stops every call, buffered or not): the registers are the
    // program's, orig_pc is the syscall, and a single step from here goes
    // on through the engine, and the stub's syscall copy, to the syscall's
    // end.
    bool site_entry = false;
  };

  // Adds entries (any order; they must not overlap existing ones).
  void add(const std::vector<PatchEntry>& entries);
  void add(const PatchEntry& e) { add(std::vector<PatchEntry>{e}); }
  // Forgets every entry whose patched range or stub intersects [lo, hi)
  // (munmap, or a mapping replaced).
  void erase(uint64_t lo, uint64_t hi);
  void clear() {
    pending_ = {};
    entries_.clear();
    by_stub_.clear();
    by_trap_.clear();
  }
  size_t size() const { return entries().size(); }
  const std::vector<PatchEntry>& entries() const {
    load_pending();
    return entries_;
  }

  // Real pc (what the cpu reports) -> program pc. Pcs in no stub and pcs in
  // original code map to themselves, not in glue, except S (the patch jmp:
  // {S, true}). In a syscall stub the `syscall` copy maps to the original
  // syscall and the jump after it to the syscall's end, not in glue.
  Translation to_original(uint64_t real_pc) const;
  // Program instruction address -> where it really executes. Addresses in
  // no patched range map to themselves; an instruction of [S, E) maps to
  // its copy in the stub (a syscall to the stub's entry), S included: a
  // breakpoint on S then stops past the stub's count, where a single step
  // into the stub stops too, so both name the point with the same tick
  // count; an address inside (S, E) that starts no original instruction
  // has no image: nullopt.
  std::optional<uint64_t> to_real(uint64_t orig_pc) const;
  // A program instruction in a chained stub's gap runs both in place and,
  // when reached from the stub before it, at its copy there: the copy's
  // address, which a breakpoint on orig_pc must cover too; nullopt if it
  // has none.
  std::optional<uint64_t> gap_copy(uint64_t orig_pc) const;
  // Puts the original bytes back into `buf`, a copy of tracee memory at
  // [addr, addr + len): every byte of a patched range.
  void show_original(uint64_t addr, uint8_t* buf, size_t len) const;
  // True if [addr, addr + len) touches a patched range (a write there must
  // go through the map, a breakpoint there through to_real()).
  bool overlaps_patch(uint64_t addr, size_t len) const;

  std::string serialize() const;
  // Replaces the contents; false (map unchanged) on corrupt input.
  bool deserialize(const std::string& bytes);
  // Replaces the contents with the map serialized at [offset, offset + len)
  // of the file at `path`, read when first needed: a recorder that reuses
  // a cached patch seldom looks inside it (when a signal finds a thread in
  // a stub), and python3's map takes ~25 ms to read. Unreadable then, it is
  // an empty map.
  void load_lazily(std::string path, uint64_t offset, uint64_t len) {
    clear();
    pending_ = {std::move(path), offset, len};
  }

 private:
  struct Pending {
    std::string path;  // empty: nothing pending
    uint64_t offset = 0, len = 0;
  };
  void load_pending() const;
  const PatchEntry* by_orig(uint64_t addr) const;  // entry with S <= addr < E
  const PatchEntry* by_stub_addr(uint64_t addr) const;
  const PatchEntry* by_trap_addr(uint64_t addr) const;  // a chained entry's trap block
  void reindex();

  // (mutable: filled on first use after load_lazily)
  mutable Pending pending_;
  mutable std::vector<PatchEntry> entries_;  // sorted by orig_start
  mutable std::vector<uint32_t> by_stub_;    // indices sorted by stub_start
  mutable std::vector<uint32_t> by_trap_;    // chained ones, sorted by trap block
};

}  // namespace rrx::instrument

#endif  // RRX_INSTRUMENT_PATCH_MAP_H
