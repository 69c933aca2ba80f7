// Starts a program under ptrace with the settings that make it replayable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

struct SpawnOptions {
  std::string path;               // executable to exec (already resolved)
  std::vector<std::string> argv;
  // Resource limits to install before exec (index = RLIMIT_*); empty keeps
  // ours. Replay installs the recorded ones: RLIMIT_STACK moves mmap_base.
  std::vector<uint64_t> rlimit_cur, rlimit_max;
  // Our seccomp filter is installed (core/seccomp_filter.h), so the
  // program's syscalls stop only where the filter says: recording and
  // replaying with syscall buffering.
  bool syscall_filter = false;
  // The program starts with these signals ignored (bit sig-1) and every
  // other one at its default, whatever rrx itself does with them.
  uint64_t ignored_signals = 0;
};

// The signals this process ignores now (bit sig-1).
uint64_t ignored_signals_now();

// Forks, seizes the child with all our ptrace options and lets it exec
// `path` with ASLR off and rdtsc trapping. The child's first ptrace stop is
// its exec event (or, if exec failed, a stop on the way to its exit).
// Returns the child's pid, or -1 with *error set.
pid_t spawn_traced(const SpawnOptions& options, std::string* error);

// Finds `program` like execvp would ("./x", "/bin/ls", "ls"). Returns "" if
// there is no such executable.
std::string find_program(const std::string& program);
// Why find_program found nothing, in one line: no such file, a directory,
// not executable.
std::string why_not_runnable(const std::string& program);
// Why the executable at `path` cannot be recorded ("" if it can): a 32-bit
// (or other non-x86-64) ELF program.
std::string why_not_recordable(const std::string& path);

}  // namespace rrx
