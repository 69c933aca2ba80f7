#include "core/segv_disposition.h"

#include <signal.h>
#include <sys/syscall.h>

#include <string>

#include "core/proc_status.h"
#include "core/registers.h"
#include "core/remote_syscall.h"

namespace rrx {
namespace {

constexpr uint64_t kSegvBit = uint64_t{1} << (SIGSEGV - 1);

// Blocks SIGSEGV for `task` again.
bool block_segv(Task& task) {
  uint64_t mask = 0;
  return task.get_sigmask(&mask) && task.set_sigmask(mask | kSegvBit);
}

}  // namespace

void SegvDispositions::note_sigaction(pid_t tgid, const SyscallCall& call, Task& task) {
  if (call.args[0] != SIGSEGV || call.args[1] == 0) return;
  Action action;
  if (!task.read_mem(call.args[1], &action, sizeof action)) return;
  // A one-shot handler goes back to the default at its first delivery:
  // not followed, so never put back.
  if (action.handler == reinterpret_cast<uint64_t>(SIG_DFL) || (action.flags & SA_RESETHAND)) {
    actions_.erase(tgid);
  } else {
    actions_[tgid] = action;
  }
}

void SegvDispositions::at_syscall_exit(pid_t tgid, pid_t tid, const SyscallCall& call,
                                       int64_t result, Task& task) {
  if (call.number == SYS_rt_sigaction && !is_syscall_error(static_cast<uint64_t>(result))) {
    note_sigaction(tgid, call, task);
  }
  if (call.number == SYS_rt_sigprocmask || call.number == SYS_rt_sigreturn) note_mask(tid, task);
}

void SegvDispositions::at_exec(pid_t tgid, pid_t tid, const Task& task) {
  auto it = actions_.find(tgid);
  if (it != actions_.end() && it->second.handler != reinterpret_cast<uint64_t>(SIG_IGN)) {
    actions_.erase(it);
  }
  note_mask(tid, task);
}

void SegvDispositions::on_new_task(pid_t parent_tgid, pid_t parent_tid, pid_t child_tgid,
                                   pid_t child_tid) {
  auto it = actions_.find(parent_tgid);
  if (child_tgid != parent_tgid && it != actions_.end()) actions_[child_tgid] = it->second;
  if (blocked_.count(parent_tid)) blocked_[child_tid] = true;
}

void SegvDispositions::on_exit(pid_t tgid, pid_t tid) {
  blocked_.erase(tid);
  if (tid == tgid) actions_.erase(tgid);
}

void SegvDispositions::note_mask(pid_t tid, const Task& task) {
  uint64_t mask = 0;
  if (!task.get_sigmask(&mask)) return;
  if (mask & kSegvBit) {
    blocked_[tid] = true;
  } else {
    blocked_.erase(tid);
  }
}

bool SegvDispositions::restore_after_trap(pid_t tgid, pid_t tid, Task& task) {
  bool was_blocked = blocked_.count(tid) > 0;
  auto it = actions_.find(tgid);
  if (it == actions_.end()) return !was_blocked || block_segv(task);
  const Action& action = it->second;
  SignalSets now;
  if (!read_signal_sets(task.tid(), &now)) return true;
  bool ignoring = action.handler == reinterpret_cast<uint64_t>(SIG_IGN);
  if (ignoring ? (now.ignored & kSegvBit) : (now.caught & kSegvBit)) return true;  // untouched
  // Reset: a handler is reset only when SIGSEGV was blocked, so block it
  // again (an ignored one, if it was seen blocked).
  if ((!ignoring || was_blocked) && !block_segv(task)) return false;
  StackScratch scratch(task);
  uint64_t addr = scratch.push(std::string(reinterpret_cast<const char*>(&action), sizeof action));
  bool ok = false;
  int64_t r = remote_syscall(task, SYS_rt_sigaction, {SIGSEGV, addr, 0, sizeof(uint64_t)}, &ok);
  return ok && r == 0;
}

}  // namespace rrx
