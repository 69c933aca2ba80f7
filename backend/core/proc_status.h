// Reading /proc/<tid>/status (the signal sets, and whether its process
// is the init of a pid namespace, which changes what signals do to it) and
// the fields of /proc/<tid>/stat.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rrx {

// Bit N-1 stands for signal N. Blocked is the thread's; caught (a handler)
// and ignored are its process's.
struct SignalSets {
  uint64_t blocked = 0;
  uint64_t caught = 0;
  uint64_t ignored = 0;
  // Its process is the init of its pid namespace (NStgid ends in 1): the
  // kernel drops the signals it has no handler for, unless forced (a fault).
  bool pid_namespace_init = false;
};

// False if the thread is gone (or its status lacks the sets).
bool read_signal_sets(pid_t tid, SignalSets* sets);

// Field `n` (1-based, as in proc(5); n >= 3, after the name) of
// /proc/<tid>/stat; false if the thread is gone or the field missing.
bool read_stat_field(pid_t tid, int n, std::string* value);

}  // namespace rrx
