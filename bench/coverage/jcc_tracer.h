// jcc_tracer.h - which conditional branches (jcc) a program executes, per
// object and encoding, and which of them the dynamic tick patcher patches
// (instrument::scan_elf's sites). Much faster than single-stepping: the
// program runs natively under ptrace with an int3 on the first byte of
// every jcc the scanner's linear sweep decodes in the object's code
// sections (the sweep is redone here, the same way, because scan_elf keeps
// only the sites; load_object checks that both find the same jccs).
//
// A hit records the jcc. Without `counts` the original byte goes back and
// the int3 stays removed: one stop per distinct executed jcc. With `counts`
// the int3 stays and the tracer executes the jcc itself (condition from
// eflags, rip to the target or past the jcc): one stop per execution.
// Mappings are armed when they appear: after exec and at the exit of every
// mmap/mprotect; new threads are traced too.
//
// Used by jcc_coverage (README.md) and tests/unit/test_branch_coverage.cc.
#ifndef RRX_BENCH_JCC_TRACER_H
#define RRX_BENCH_JCC_TRACER_H

#include <Zydis/Zydis.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "instrument/branch_sites.h"

namespace rrx::coverage {

// One decoded instruction of the sweep (or one undecodable byte).
struct Insn {
  uint64_t offset = 0;
  uint8_t length = 0;
  bool invalid = false;  // undecodable byte, or a range boundary (length 0)
  ZydisMnemonic mnemonic = ZYDIS_MNEMONIC_INVALID;
  ZydisInstructionCategory category = ZYDIS_CATEGORY_INVALID;
  bool plain = false;       // the scanner's kPlain (copied rule)
  bool riprel_bad = false;  // the scanner's kRipRelBad
  bool in_syscall_site = false;  // moved into a syscall site's stub
  bool jcc = false, rel32 = false, odd = false;
  uint8_t cond = 0;  // jcc: the low nibble of 7x / 0f 8x
  // loop/loope/loopne/jrcxz (counted as the scanner counts them): their
  // opcode (e2, e1, e0, e3), else 0.
  uint8_t loop_opcode = 0;
  int32_t disp = 0;  // jcc: taken target - end
};

// One object (ELF file) of the program: its jccs as the scanner sweeps
// them, which of them are sites, and how often each ran.
struct Object {
  std::string path;
  std::string bytes;
  instrument::ScanResult scan;
  std::vector<Insn> insns;
  std::vector<size_t> jccs;                     // indices into insns
  std::vector<bool> patched;                    // per jcc: is a site
  std::set<uint64_t> direct_targets;            // of direct branches/calls
  std::vector<uint64_t> hits;                   // per jcc: executions seen
};

// Reads, scans (load_or_scan) and sweeps the file. False if it cannot.
bool load_object(const std::string& path, Object* o);

// Why the scanner did not make jcc insns[i] a site: its walk back, naming
// what stopped it ("unreloc: call before", "target: ...", ...).
std::string classify(const Object& o, size_t i);

// Per object and encoding.
struct Tally {
  uint64_t found = 0;               // jccs in the object
  uint64_t executed = 0, executed_patched = 0;      // distinct jccs
  uint64_t executions = 0, executions_patched = 0;  // with counts only
};

class Tracer {
 public:
  bool counts = false;
  // With counts: every unpatched jcc counts each execution, a patched one
  // only if it falls in the 1/sample of sites picked by a hash of its
  // offset (its count then stands for `sample` sites').
  uint64_t sample = 1;

  // Runs argv to its end with stdout to the file `out`. False if it did
  // not exit 0 (*how says how it ended).
  bool run(char* const* argv, const std::string& out, std::string* how);

  std::map<std::string, Object> objects;  // by path
  uint64_t stops = 0;

  Tally tally(const Object& o, bool rel32) const;
  // Whether every execution of jcc k of o is counted (else only the first).
  bool counted(const Object& o, size_t k) const;

 private:
  void arm_new_mappings();

  pid_t pid_ = 0;
  int mem_ = -1;  // /proc/pid/mem
  struct Bp { Object* o; size_t jcc; uint8_t orig; bool armed; };
  std::unordered_map<uint64_t, Bp> bps_;  // by address
  std::set<std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>> armed_maps_;
};

}  // namespace rrx::coverage

#endif  // RRX_BENCH_JCC_TRACER_H
