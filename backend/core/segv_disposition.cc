#include "core/segv_disposition.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <fstream>
#include <string>

#include "core/remote_syscall.h"

namespace rrx {
namespace {

constexpr uint64_t kSegvBit = uint64_t{1} << (SIGSEGV - 1);

// The process's caught and ignored signal sets, from /proc (SigCgt, SigIgn).
bool read_dispositions(pid_t tid, uint64_t* caught, uint64_t* ignored) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  int found = 0;
  while (std::getline(status, line)) {
    if (line.rfind("SigCgt:", 0) == 0) {
      *caught = std::stoull(line.substr(7), nullptr, 16);
      ++found;
    } else if (line.rfind("SigIgn:", 0) == 0) {
      *ignored = std::stoull(line.substr(7), nullptr, 16);
      ++found;
    }
  }
  return found == 2;
}

// Blocks SIGSEGV for `task` again.
bool block_segv(const Task& task) {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, task.tid(), sizeof mask, &mask) != 0) return false;
  mask |= kSegvBit;
  return ptrace(PTRACE_SETSIGMASK, task.tid(), sizeof mask, &mask) == 0;
}

}  // namespace

void SegvDispositions::note_sigaction(pid_t tgid, const SyscallCall& call, Task& task) {
  if (call.number != SYS_rt_sigaction || call.args[0] != SIGSEGV || call.args[1] == 0) return;
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

void SegvDispositions::on_exec(pid_t tgid) {
  auto it = actions_.find(tgid);
  if (it != actions_.end() && it->second.handler != reinterpret_cast<uint64_t>(SIG_IGN)) {
    actions_.erase(it);
  }
}

void SegvDispositions::on_fork(pid_t parent_tgid, pid_t child_tgid) {
  auto it = actions_.find(parent_tgid);
  if (it != actions_.end()) actions_[child_tgid] = it->second;
}

void SegvDispositions::forget(pid_t tgid) { actions_.erase(tgid); }

void SegvDispositions::note_mask(pid_t tid, const Task& task) {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, task.tid(), sizeof mask, &mask) != 0) return;
  if (mask & kSegvBit) {
    blocked_[tid] = true;
  } else {
    blocked_.erase(tid);
  }
}

void SegvDispositions::on_new_thread(pid_t parent_tid, pid_t child_tid) {
  if (blocked_.count(parent_tid)) blocked_[child_tid] = true;
}

void SegvDispositions::forget_thread(pid_t tid) { blocked_.erase(tid); }

bool SegvDispositions::restore_after_trap(pid_t tgid, pid_t tid, Task& task) {
  bool was_blocked = blocked_.count(tid) > 0;
  auto it = actions_.find(tgid);
  if (it == actions_.end()) return !was_blocked || block_segv(task);
  const Action& action = it->second;
  uint64_t caught = 0, ignored = 0;
  if (!read_dispositions(task.tid(), &caught, &ignored)) return true;
  bool ignoring = action.handler == reinterpret_cast<uint64_t>(SIG_IGN);
  if (ignoring ? (ignored & kSegvBit) : (caught & kSegvBit)) return true;  // untouched
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
