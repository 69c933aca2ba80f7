// stub_emitter.h - turns the sites of one mapping into bytes: the stubs and
// the overwrites of the code. Pure: the tracer writes the results into the
// tracee (/proc/pid/mem) and records the PatchMap entries.
//
// Stub of form A (StubForm::kCountBeforeSetter), k relocated instructions:
//        <relocated 0..k-2>
//        addq $1, 0x70000000            48 83 04 25 00 00 00 70 01
//        je   trap                      74 rel8
// resume:<relocated k-1, the flag setter>
//        j<cc> taken                    0f 8x rel32
//        <relocated after the jcc, if any>
//        jmp  E                         e9 rel32
// trap:  movq $1, 0x70000010            48 c7 04 25 10 00 00 70 01 00 00 00
//        int3                           cc
//        jmp  resume                    eb rel8
// Form B (StubForm::kFlagFree):
//        <relocated 0..k-1>
//        mov  %rcx, 0x70000020          48 89 0c 25 20 00 00 70
//        mov  0x70000000, %rcx          48 8b 0c 25 00 00 00 70
//        lea  1(%rcx), %rcx             48 8d 49 01
//        mov  %rcx, 0x70000000          48 89 0c 25 00 00 00 70
//        jrcxz trap                     e3 rel8
//        mov  0x70000020, %rcx          48 8b 0c 25 20 00 00 70
// resume:j<cc> taken ; <relocated after the jcc> ; jmp E
// trap:  mov  0x70000020, %rcx ; movq $1, 0x70000010 ; int3 ; jmp resume
// Neither touches the stack (red zone) nor uses lock or pushf.
// A kLoop stub is form B with the 13-byte emulation of loop/loope/loopne/
// jrcxz (stub_emitter.cc, put_loop_emulation) where the jcc is.
//
// A chained form A stub (BranchSite::chained) ends differently:
//        <relocated 0..k-2> ; addq $1, 0x70000000
//        je   trap                      0f 84 rel32 (a trap block apart)
// resume:<relocated k-1> ; j<cc> taken ; <relocated after the jcc>
//        <copies of the gap instructions between E and the next site>
//        (the next site's stub follows; jmp <gap end> only if it does not)
// and the trap blocks of a chain's stubs come together before its first:
// trap:  movq $1, 0x70000010 ; int3 ; jmp resume (e9 rel32)
//
// Syscall stub (StubForm::kSyscall; a kCpuid stub has `cpuid` for `syscall`):
//        <relocated before the syscall, 0..k>
//        lea  -128(%rsp),%rsp           48 8d 64 24 80   (past the red zone)
//        call *RRX_SITE_ENTRY_SLOT      ff 14 25 <abs32>
// R:     lea  128(%rsp),%rsp            48 8d a4 24 80 00 00 00
//        syscall                        0f 05            (traced)
//        jmp  +8                        eb 08
// R+12:  lea  128(%rsp),%rsp            (the engine made the call: rax = result)
//        <relocated after the syscall, 0..a>
//        jmp  E                         e9 rel32
// The engine (syscallbuf_abi.h) is entered with the program's registers
// and returns to R (the stub's syscall then runs, traced) or to
// R + RRX_SITE_HANDLED_SKIP, preserving every register but rax and the
// flags. lea, not add/sub, leaves the flags alone.
#ifndef RRX_INSTRUMENT_STUB_EMITTER_H
#define RRX_INSTRUMENT_STUB_EMITTER_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "instrument/branch_sites.h"
#include "instrument/patch_map.h"
#include "preload/syscallbuf_abi.h"

namespace rrx::instrument {

struct EmitRequest {
  const BranchSite* sites = nullptr;  // sorted by start, as scan_elf gives
  size_t num_sites = 0;
  // Runtime address of file offset o in this mapping is o + bias (for a
  // mapping of file offset `off` at address `start`: bias = start - off).
  // Every site must lie in the mapping; the caller filters.
  int64_t bias = 0;
  const uint8_t* file = nullptr;  // the ORIGINAL file bytes
  size_t file_size = 0;
  uint64_t stub_base = 0;     // runtime address of the stub area
  size_t stub_capacity = 0;   // bytes available from stub_base
  // Where syscall stubs find the engine's entry (an absolute address that
  // must fit a sign-extended disp32). Tests run stubs against a slot of
  // their own.
  uint64_t site_entry_slot = RRX_SITE_ENTRY_SLOT;
};

struct CodeWrite {
  uint64_t addr;               // runtime address
  std::vector<uint8_t> bytes;  // contiguous; gaps between sites are
                               // filled with the original file bytes
};

enum class EmitSkip : uint8_t {
  kNoSpace = 0,    // stub area full: retry with more space
  kOutOfReach = 1, // taken target, E or a rip-relative operand not rel32
                   // reachable from the stub (or the stub from S), or a
                   // site entry slot beyond a sign-extended disp32
  kBadSite = 2,    // descriptor does not match the file bytes
};

struct EmitResult {
  std::vector<uint8_t> stubs;     // write at stub_base; size() bytes used
  std::vector<CodeWrite> writes;  // sorted by addr, disjoint
  std::vector<PatchEntry> entries;
  struct Unpatched { size_t site; EmitSkip why; };
  std::vector<Unpatched> unpatched;  // indices into EmitRequest::sites
};

// Sites are laid out in order; a site that does not fit or reach is left
// out (listed in unpatched) and the rest still emitted.
void emit_stubs(const EmitRequest& req, EmitResult* out);

// What a syscall stub runs in place of the `syscall` (syscallbuf_abi.h,
// THE SITE ENTRY): lea -128(%rsp),%rsp; call *slot; R: lea 128(%rsp),%rsp;
// syscall; jmp +8; R+12: lea 128(%rsp),%rsp. The vdso's clock functions,
// patched in buffered recordings (core/vdso.h), run the same bytes. A
// cpuid site's glue has `cpuid` (insn 0xa2) where the syscall (0x05) is.
std::vector<uint8_t> site_call_glue(uint64_t slot, uint8_t insn = 0x05);
// Where the `syscall` is in those bytes.
inline constexpr size_t kSiteGlueSyscallAt = 20;

// Writes merge when the original bytes between two patched ranges are at
// most this many.
inline constexpr size_t kMergeGap = 32;

}  // namespace rrx::instrument

#endif  // RRX_INSTRUMENT_STUB_EMITTER_H
