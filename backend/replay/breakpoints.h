// Software breakpoints (int3) and hardware watchpoints (debug registers)
// in the process being debugged.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

#include "core/task.h"

namespace rrx {

class Breakpoints {
 public:
  // Breakpoints are reference counted: the debugger and the replay's own
  // position search may both want one at the same address. One at an
  // address not mapped yet (a library not loaded at a checkpoint) waits
  // there until refresh() sees it mapped.
  bool insert(Task& task, uint64_t addr);
  void remove(Task& task, uint64_t addr);
  bool contains(uint64_t addr) const { return sites_.count(addr) != 0; }

  // Puts the original bytes back into / takes them out of `task` (for
  // forks of the process, which must start clean).
  void uninstall(Task& task) const;
  void install(Task& task) { refresh(task, 0, UINT64_MAX); }
  // After [lo, hi) was (re)mapped: reads the new original bytes there and
  // puts the int3s back.
  void refresh(Task& task, uint64_t lo, uint64_t hi);
  // The same for the breakpoint at `addr` only (stepping off it).
  void uninstall_one(Task& task, uint64_t addr) const;
  void install_one(Task& task, uint64_t addr) const;

  // Replaces int3 bytes with the original ones in a buffer read from
  // tracee memory at `addr`, so the debugger never sees our breakpoints.
  void shadow(uint64_t addr, uint8_t* data, size_t len) const;

 private:
  struct Site {
    uint8_t original;
    int refs;
    bool installed;  // false while its address is not mapped
  };
  std::map<uint64_t, Site> sites_;
};

enum class WatchKind { kWrite, kRead, kAccess };

struct Watchpoint {
  uint64_t addr;
  uint64_t len;  // 1, 2, 4 or 8, aligned to itself
  WatchKind kind;
};

// Programs DR0-DR3/DR7 of `task` for up to four watchpoints. False if they
// do not fit the hardware (too many, bad length or alignment).
bool program_watchpoints(Task& task, const std::vector<Watchpoint>& watchpoints);

// After a hardware trap: the index of the watchpoint that fired (from DR6),
// or -1. Clears DR6 where the kernel keeps its bits from one trap to the
// next (before Linux 5.11).
int triggered_watchpoint(Task& task);
// Whether a watchpoint fired (DR6 says so), leaving DR6 as it is for
// triggered_watchpoint.
bool watchpoint_fired(Task& task);

// The same at a trap whose siginfo is `info`, with `armed` watchpoints
// programmed: a TRAP_HWBKPT with one armed is that one (the kernel says
// TRAP_HWBKPT only for a watchpoint's trap, and on Linux >= 5.11 its DR6
// holds nothing older), so DR6 is not read.
int triggered_watchpoint(Task& task, const siginfo_t& info, size_t armed);

}  // namespace rrx
