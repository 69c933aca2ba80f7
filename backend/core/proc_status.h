// Reading the signal sets of /proc/<tid>/status.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace rrx {

// Bit N-1 stands for signal N. Blocked is the thread's; caught (a handler)
// and ignored are its process's.
struct SignalSets {
  uint64_t blocked = 0;
  uint64_t caught = 0;
  uint64_t ignored = 0;
};

// False if the thread is gone (or its status lacks the sets).
bool read_signal_sets(pid_t tid, SignalSets* sets);

}  // namespace rrx
