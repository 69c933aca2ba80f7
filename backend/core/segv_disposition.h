// rrx makes rdtsc (and, with cpuid faulting, cpuid) trap: the kernel forces
// a SIGSEGV on the thread, which rrx takes and answers. Forcing it, the
// kernel does what it does for a real fault: if the thread had SIGSEGV
// blocked, it unblocks it, and if SIGSEGV was blocked or ignored it resets
// the action to the default. A program would lose its own SIGSEGV handler
// to an instruction that natively does not fault (and then die at its next
// real fault). Record and replay keep each process's SIGSEGV action, from
// its rt_sigaction calls (never buffered when they set SIGSEGV's), and each
// thread's blocking of SIGSEGV as its traced calls leave it (rt_sigprocmask,
// rt_sigreturn, execve), and after such a trap put back what the kernel
// changed: the action, and the blocked bit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>

#include "core/task.h"
#include "syscalls/syscall_table.h"

namespace rrx {

class SegvDispositions {
 public:
  // At the exit of `call` (its result `result`) of thread `tid` of `tgid`:
  // a new SIGSEGV action (rt_sigaction), or a mask that may have changed
  // (rt_sigprocmask, rt_sigreturn: the kernel is asked what it is now).
  void at_syscall_exit(pid_t tgid, pid_t tid, const SyscallCall& call, int64_t result,
                       Task& task);
  // At an execve's exit: handlers go back to the default (ignoring stays);
  // the mask is kept, and noted.
  void at_exec(pid_t tgid, pid_t tid, const Task& task);
  // A new thread has its creator's mask; a new process its parent's action.
  void on_new_task(pid_t parent_tgid, pid_t parent_tid, pid_t child_tgid, pid_t child_tid);
  void on_exit(pid_t tgid, pid_t tid);
  // After a trapped rdtsc/cpuid of thread `tid` of `tgid` (at its SIGSEGV
  // stop, before it goes on): undoes the kernel's changes, if it made any.
  // False if a ptrace or injected call failed.
  bool restore_after_trap(pid_t tgid, pid_t tid, Task& task);

 private:
  struct Action {  // the kernel's struct sigaction, as rt_sigaction takes it
    uint64_t handler, flags, restorer, mask;
  };
  std::map<pid_t, Action> actions_;  // processes whose action is not the default
  std::map<pid_t, bool> blocked_;    // threads: SIGSEGV blocked, as last seen

  void note_sigaction(pid_t tgid, const SyscallCall& call, Task& task);
  void note_mask(pid_t tid, const Task& task);
};

}  // namespace rrx
