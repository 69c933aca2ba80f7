// Finding the conditional branches of an ELF file that can be patched to
// count ticks, without control-flow recovery (see docs/architecture.md,
// "Dynamic ticks"). Pure: bytes in, site descriptions out.
//
// Every `jcc rel32` and `jcc rel8` of the file's executable segments is
// found by a linear sweep (Zydis). A site is the byte range [start, end)
// that a patch overwrites with `jmp rel32` to its stub; it ends with the
// jcc. A short jcc has no room for that jump, so the plain instructions
// right before it are moved into the stub as well, only if no possible
// branch target lies inside the range after its first byte. Possible
// targets: every direct branch or call target, every rip-relative
// reference into code, the entries of jump tables found through them, and
// every function symbol. What cannot be patched safely is only uncounted.
//
// Positions are file offsets, so one scan serves every place the file is
// mapped at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rrx::instrument {

// Bump when the rules or the layout of JccSite change: cached scans made
// by another version are ignored.
inline constexpr uint32_t kScannerVersion = 2;

enum class StubForm : uint8_t {
  // The last moved instruction sets every flag the jcc reads and reads
  // none: the count (`addq $1` + `je trap`) goes right before it.
  kCountBeforeSetter = 0,
  // Anything else: a flag-free count through %rcx and the spill slot.
  kFlagFree = 1,
};

inline constexpr int kMaxMoved = 4;
inline constexpr int kMaxSiteBytes = 24;

struct JccSite {
  uint64_t start = 0;       // file offset of the first byte overwritten
  int64_t taken = 0;        // file offset the jcc jumps to when taken
  uint8_t length = 0;       // bytes overwritten, jcc included (>= 5)
  uint8_t cond = 0;         // condition code: the low nibble of 7x / 0f 8x
  uint8_t moved = 0;        // instructions moved before the jcc
  uint8_t form = 0;         // StubForm
  uint8_t short_jcc = 0;    // 1: the jcc is rel8
  uint8_t moved_len[kMaxMoved] = {};
  // Per moved instruction: offset of its rip-relative disp32 inside it, 0
  // if it has none.
  uint8_t moved_disp_at[kMaxMoved] = {};
  uint8_t pad[3] = {};
};
static_assert(sizeof(JccSite) == 32, "JccSite is stored as is in the site cache");

struct ScanStats {
  uint64_t rel8_found = 0, rel8_patchable = 0;
  uint64_t rel32_found = 0, rel32_patchable = 0;
  // Why the others are not: a possible target inside the range, no
  // movable instructions before it, right after a `syscall`.
  uint64_t skipped_target = 0, skipped_unmovable = 0, skipped_syscall = 0;
};

struct ScanResult {
  bool statically_instrumented = false;  // carries .note.rrx.ticks: left alone
  std::vector<JccSite> sites;            // ordered by start
  ScanStats stats;
};

// Scans the ELF image `file` (the whole file). False with one line in
// *error if it is not a 64-bit x86 ELF file this can read.
bool scan_elf(const uint8_t* file, size_t size, ScanResult* out, std::string* error);

// The build-id note's bytes as hex, "" if the file has none.
std::string elf_build_id(const uint8_t* file, size_t size);

}  // namespace rrx::instrument
