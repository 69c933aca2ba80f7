// branch_sites.h - which conditional branches of an ELF file can be patched
// to count ticks, and how. Pure: file bytes in, site descriptors out (no
// ptrace, no process); the tracer writes the patches (stub_emitter.h).
//
// A tick is an executed conditional branch (jcc). Objects not built with
// the rrx plugin get their jccs patched at load time: a byte range [S, E)
// ending at the jcc becomes `jmp rel32` to a stub (plus int3 filler) and the
// stub runs the instructions of the range, counts, and branches like the
// jcc. The five bytes of the jmp rarely fit a jcc alone (rel8 jccs are two
// bytes), so plain instructions right before the jcc are moved ("relocated")
// into the stub too.
//
// There is no control-flow recovery, hence the rules are conservative: an
// unpatched branch is only an uncounted tick, a wrong patch is a crash or
// worse, a silently wrong computation. A range is only used if no
// "possible target" lies in (S, E): direct branch/call targets, rip-relative
// references into code, jump-table entries reached through rip-relative
// lea, symbols, relocation addends and (non-PIE) absolute code pointers in
// data and code, and exception landing pads. See branch_sites.cc.
//
// The same sweep finds syscall sites: a range [S, E) around one `syscall`
// (usually with the `mov $NR,%eax` before it) becomes a jmp to a stub that
// offers the call to the in-process buffering engine first and runs the
// `syscall` itself, traced, when the engine declines (stub_emitter.h). The
// same possible-target rules apply; syscall sites are chosen first and jcc
// sites never overlap them.
//
// All positions are FILE OFFSETS, so one scan serves every mapping of the
// file: the runtime address of file offset `o` in a mapping is o + bias (see
// stub_emitter.h).
#ifndef RRX_INSTRUMENT_BRANCH_SITES_H
#define RRX_INSTRUMENT_BRANCH_SITES_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rrx::instrument {

// Bump when the scan rules or the descriptor layout change: cached scans of
// another version are then ignored (site_cache.h).
inline constexpr uint32_t kScanRulesVersion = 10;  // 8: chained sites; 9: gaps ending in jmp/ret; 10: loops

// At most this many instructions are relocated around a jcc or a syscall,
// and at most this many bytes are overwritten per site.
inline constexpr int kMaxRelocated = 4;
inline constexpr int kMaxRangeBytes = 24;
// At most this many instructions, and bytes, are copied between two
// chained stubs (BranchSite::chained).
inline constexpr int kMaxGap = 8;
inline constexpr int kMaxGapBytes = 48;

enum class StubForm : uint8_t {
  // A: the last relocated instruction writes every status flag and reads
  // none, so the stub may clobber the flags with `addq $1, count` right
  // before it (one instruction: never a half-done count).
  kCountBeforeSetter = 0,
  // B: the flags are (or may be) live: count through %rcx and the page's
  // spill slot with lea/jrcxz, which touch no flag. Four instructions: see
  // PatchMap::to_original's in_glue for what the tracer must respect.
  kFlagFree = 1,
  // A syscall site (not a jcc): the stub calls the buffering engine through
  // RRX_SITE_ENTRY_SLOT, then runs the `syscall` unless the engine did.
  // jcc_length is the syscall's length (2), cond, rel32 and taken are 0.
  kSyscall = 2,
  // A `cpuid` site: the same stub as kSyscall's with `cpuid` for `syscall`;
  // the engine answers from rrx's table or the cpuid runs (and traps).
  kCpuid = 3,
  // `loop`, `loope`, `loopne` or `jrcxz` (e2, e1, e0, e3 rel8; cond holds
  // the opcode's low two bits): counted like form B (the flags and %rcx
  // are the program's), then emulated by a fixed 13-byte sequence (lea,
  // jrcxz, jcc, jmp; stub_emitter.h), since their rel8 cannot reach back.
  kLoop = 4,
};

// The stub calls the buffering engine (a syscall or cpuid site) rather
// than counting a jcc.
inline bool calls_engine(StubForm form) {
  return form == StubForm::kSyscall || form == StubForm::kCpuid;
}

// One instruction moved into the stub.
struct RelocatedInsn {
  uint64_t offset = 0;   // file offset of the original
  uint8_t length = 0;
  // Offset of a rip-relative disp32 inside the instruction, 0 if none (an
  // instruction never starts with its displacement).
  uint8_t riprel_at = 0;
};

// One instruction of a chained site's gap: they follow each other from the
// site's end E, so only lengths are kept.
struct GapInsn {
  uint8_t length = 0;
  uint8_t riprel_at = 0;  // as in RelocatedInsn
};

// How a gap ends when its stub does not run on into the next site's stub:
// with a copy of the program's `jmp rel` (as `jmp rel32`) or `ret`, the
// gap's last instruction.
enum class GapTransfer : uint8_t { kNone = 0, kJmp = 1, kRet = 2 };

// One patchable conditional branch, or (form kSyscall / kCpuid) one
// patchable `syscall` / `cpuid`: then "the jcc" below names that instruction.
struct BranchSite {
  uint64_t start = 0;        // S: first overwritten byte (file offset)
  uint8_t length = 0;        // E - S, >= 5; E is the end of the jcc
  uint8_t jcc_length = 0;    // 2.. for rel8 (prefixes), 6.. for rel32
  uint8_t cond = 0;          // condition code, the low nibble of 7x / 0f 8x
  bool rel32 = false;        // the original jcc is the rel32 form
  StubForm form = StubForm::kFlagFree;
  // Instructions moved into the stub, in program order: relocated[0..k)
  // right before the jcc, relocated[k..k+a) right after it (its
  // fallthrough, moved when those before are too few: a call or another
  // branch just before a short jcc).
  uint8_t num_relocated = 0; // k
  uint8_t num_after = 0;     // a
  RelocatedInsn relocated[kMaxRelocated];
  // Taken target, as a file offset in the frame of the jcc's segment
  // (target vaddr - p_vaddr + p_offset of the segment holding the jcc). It
  // may lie outside the segment or the file; only differences to S matter.
  int64_t taken = 0;
  // Chaining (form A only): the stub does not jump back to E but runs on,
  // through copies of the plain instructions between E and the next site's
  // S (the "gap", num_gap of them, left in place in the program as well),
  // straight into the next site's stub, which the emitter places right
  // after it. A not-taken branch then costs no jump back and no jump in:
  // code that tests one condition after another (an interpreter's error
  // checks) runs through one stub after another. The next site is the
  // next one in ScanResult::sites, a jcc site, starting at gap_end().
  // Or the gap ends in a jmp or ret (transfer), and so does the stub.
  bool chained = false;
  GapTransfer transfer = GapTransfer::kNone;
  uint8_t num_gap = 0;
  GapInsn gap[kMaxGap];

  uint64_t gap_end() const {
    uint64_t at = end();
    for (int i = 0; i < num_gap; ++i) at += gap[i].length;
    return at;
  }
  uint64_t end() const { return start + length; }
  uint64_t jcc_offset() const {
    uint64_t at = start;
    for (int i = 0; i < num_relocated; ++i) at += relocated[i].length;
    return at;
  }
};

// Why a jcc was not made a site. Counted per segment.
enum class SkipReason : uint8_t {
  kTargetInRange = 0,   // a possible target lies in (S, E)
  kUnrelocatable = 1,   // a needed neighbour is not plain (branch, nop, ...)
  kSigreturn = 2,       // syscall site: `mov $15,%eax` (rt_sigreturn) right
                        // before it; debuggers and unwinders recognise the
                        // signal trampoline by these bytes
  kRipRel = 3,          // a needed instruction has a rip-relative operand
                        // that cannot be fixed up (eip-relative, ...)
  kCount = 4,
};

struct SegmentStats {
  uint64_t file_offset = 0;  // p_offset
  uint64_t file_size = 0;    // p_filesz (clipped to the file)
  uint64_t vaddr = 0;        // p_vaddr
  uint32_t rel8_found = 0, rel8_patched = 0;
  uint32_t rel32_found = 0, rel32_patched = 0;
  uint32_t syscall_found = 0, syscall_patched = 0;
  uint32_t cpuid_found = 0, cpuid_patched = 0;
  // Why found jccs and syscalls were not patched (both kinds together).
  uint32_t skipped[static_cast<int>(SkipReason::kCount)] = {};
};

struct ScanResult {
  // The object carries the static plugin's marker section
  // (RRX_TICK_MARKER_SECTION): its branches already count; no jcc sites
  // (its syscall sites are found all the same).
  bool statically_instrumented = false;
  std::string build_id;  // raw bytes of NT_GNU_BUILD_ID, empty if none
  std::vector<SegmentStats> segments;  // executable PT_LOADs, file order
  std::vector<BranchSite> sites;       // jcc and syscall sites, sorted by
                                       // start, disjoint ranges
  // Diagnostics: distinct possible targets, and how many of them are
  // exception landing pads (from .eh_frame's LSDAs).
  uint64_t possible_targets = 0;
  uint64_t landing_pads = 0;
};

// Scans an ELF64 x86-64 file (ET_EXEC or ET_DYN) held in memory. Returns
// false (with *error) if it is not one; a file with no executable segment
// is a success with no sites.
bool scan_elf(const uint8_t* file, size_t size, ScanResult* out,
              std::string* error = nullptr);

// The NT_GNU_BUILD_ID descriptor of the file's PT_NOTE segments, empty if
// none (cheap: reads headers and notes only; site_cache.h keys on it).
std::string elf_build_id(const uint8_t* file, size_t size);

}  // namespace rrx::instrument

#endif  // RRX_INSTRUMENT_BRANCH_SITES_H
