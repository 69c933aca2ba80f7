// Spinning off: a process of its own, outside the replay, with the focus
// thread's registers and memory at the current point of the replay, left
// stopped (SIGSTOP) and untraced for another tool to attach (docs/spin-off.md).
//
// The copy is not a fork of the replayed process: that one runs under
// rrx's seccomp filter, which a process can never drop and which fails
// every syscall with ENOSYS once no tracer with PTRACE_O_TRACESECCOMP is
// there. The copy is a fresh exec of the same saved executable (same
// layout: ASLR off, the recorded resource limits) whose address space is
// then replaced by the replayed process's, mapping by mapping, through
// injected syscalls and /proc/PID/mem.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "replay/fd_table.h"
#include "trace/event.h"

namespace rrx {

class ReplaySession;

struct SpunOff {
  pid_t pid = 0;             // the copy (real pid)
  int32_t recorded_pid = 0;  // the process it copies, as recorded
  int32_t recorded_tid = 0;  // the thread it copies
  uint64_t event = 0;        // the replay's position
  uint64_t ticks = 0;        // its process's tick count there (0: none)
  bool live = false;
  // Inside a syscall the replay skipped (its entry event): the copy is set
  // to make it itself (rip on the `syscall`, rax its number).
  int in_syscall = -1;
  Registers regs = {};  // the copy's
  std::vector<Mapping> maps;
  uint64_t brk_start = 0, brk = 0;
  MapRange stack;
  uint64_t blocked = 0;  // signal mask, bit sig-1
  struct Handler {
    int sig = 0;
    uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
  };
  std::vector<Handler> handlers;  // only those not at SIG_DFL
  struct Fd {
    FdEntry entry;
    // --live: "reopened", "rrx's own" (stdio), "/dev/null" (with `why`);
    // otherwise "" (the copy has rrx's stdio, or /dev/null, only).
    std::string restored;
    std::string why;
  };
  std::vector<Fd> fds;
};

// Spins off the replay's focus thread where it is. `own_stdio`: the copy's
// stdin, stdout and stderr are rrx's (else /dev/null: a debugger's rrx
// talks to it on them). False and *error (one line) if it cannot; nothing
// is then left running.
bool spin_off(ReplaySession& session, bool live, bool own_stdio, SpunOff* out,
              std::string* error);

// The state as a JSON object on one line (docs/spin-off.md).
std::string spin_off_json(const SpunOff& state);

}  // namespace rrx
