// What a waitpid() status says happened to a traced thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rrx {

enum class StopKind {
  kSyscallEntry,
  kSyscallExit,
  kSignal,      // signal-delivery-stop; `sig` is the signal
  kGroupStop,   // job-control stop (PTRACE_EVENT_STOP), incl. a new task's first
  kExec,        // PTRACE_EVENT_EXEC
  kNewTask,     // PTRACE_EVENT_FORK / VFORK / CLONE
  kVforkDone,   // PTRACE_EVENT_VFORK_DONE
  kExiting,     // PTRACE_EVENT_EXIT: about to exit, still inspectable
  kExited,      // gone; `status` is the wait status
};

struct Stop {
  StopKind kind;
  int sig = 0;
  int status = 0;
  int event = 0;  // PTRACE_EVENT_* for kNewTask
};

// Decodes `status` from waitpid() on `tid`; syscall stops are told apart
// with PTRACE_GET_SYSCALL_INFO.
Stop decode_stop(pid_t tid, int status);

// Waits for `tid` (or any traced thread if tid is -1). Retries on EINTR.
// Returns the tid that stopped, or -1 if there is none.
pid_t wait_for(pid_t tid, int* status);

std::string describe_stop(const Stop& stop);

// Waits (briefly: exit() does little after its exit stop) until `tid`,
// resumed from its PTRACE_EVENT_EXIT stop, is a zombie. A process's leader
// that ends before its other threads is reported by waitpid only after the
// last of them; as a zombie it has let go of the process's memory (its
// clear_child_tid written), so the others may run on.
void wait_until_zombie(pid_t tid);

// SIGKILLs traced threads and waits until all are gone, resuming them from
// the exit stops they may still report (a thread group's leader is only
// reported once all its threads are). Also reaps those we are parent of.
void kill_tracees(const std::vector<pid_t>& tids);
inline void kill_tracee(pid_t tid) { kill_tracees({tid}); }

}  // namespace rrx
