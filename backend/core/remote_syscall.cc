#include "core/remote_syscall.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/signal_class.h"
#include "core/stop.h"

namespace rrx {

namespace {

constexpr uint64_t kRedZone = 128;
constexpr uint64_t kScratchSize = 8192;

// Resumes `task` until the next syscall stop of the given kind; stray
// signals that arrive meanwhile are dropped (they are re-created by the
// recording or replay logic, never by the injected call). A fault means
// the call cannot run there (a damaged trace's image, say): dropped, it
// would come again forever.
bool run_to(Task& task, StopKind want) {
  for (int stops = 0; stops < 10000; ++stops) {
    if (!task.resume(0)) return false;
    int status;
    if (wait_for(task.tid(), &status) < 0) return false;
    Stop stop = decode_stop(task.tid(), status);
    if (stop.kind == want) return true;
    if (stop.kind == StopKind::kExited || stop.kind == StopKind::kExiting) return false;
    if (stop.kind == StopKind::kSignal) {
      siginfo_t info;
      if (task.get_siginfo(&info) && is_synchronous_signal(info)) return false;
    }
  }
  return false;
}

// Calls that return at once and touch only memory mappings, fds and the
// thread's own state: these may run at the untraced syscall, where a single
// step runs them (a fork would leave its child with the trap flag set, a
// call that waits would wait unseen).
bool runs_untraced(int number) {
  switch (number) {
    case SYS_mmap:
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_mremap:
    case SYS_openat:
    case SYS_close:
    case SYS_arch_prctl:
      return true;
    default:
      return false;
  }
}

// Single-steps `task` over its untraced syscall (regs.rip at it): one stop,
// after it. A signal stop before the syscall ran is dropped and the step
// made again; one after it, like the trap, ends the step (stray signals
// are dropped as in run_to).
bool step_over_untraced(Task& task) {
  for (int tries = 0; tries < 16; ++tries) {
    int status;
    Registers now;
    if (!task.single_step(0) || wait_for(task.tid(), &status) < 0 || !WIFSTOPPED(status) ||
        !task.get_regs(&now)) {
      return false;
    }
    if (now.rip == task.untraced_syscall + 2) return true;
    if (now.rip != task.untraced_syscall) return false;
  }
  return false;
}

// A single step's trap is a SIGTRAP the kernel forces: with SIGTRAP
// blocked it would unblock it and reset the program's SIGTRAP action (new
// threads start with every signal blocked). The two syscall stops then.
bool sigtrap_blocked(const Task& task) {
  uint64_t mask = 0;
  return !task.get_sigmask(&mask) || (mask & (uint64_t{1} << (SIGTRAP - 1)));
}

}  // namespace

int64_t remote_syscall(Task& task, int number, std::initializer_list<uint64_t> args,
                       bool* ok, const std::function<void()>& at_entry) {
  *ok = false;
  Registers saved;
  if (task.syscall_gadget == 0 || !task.get_regs(&saved)) return -1;
  Registers regs = saved;
  unsigned long long* slots[] = {&regs.rdi, &regs.rsi, &regs.rdx, &regs.r10, &regs.r8, &regs.r9};
  size_t i = 0;
  for (uint64_t a : args) *slots[i++] = a;
  regs.rax = number;
  // orig_rax = -1: nothing may treat the return to user space as the end of
  // an interrupted syscall to be restarted.
  regs.orig_rax = static_cast<uint64_t>(-1);
  const bool untraced = task.untraced_syscall && runs_untraced(number) && !at_entry &&
                        !sigtrap_blocked(task);
  regs.rip = untraced ? task.untraced_syscall : task.syscall_gadget;
  if (!task.set_regs(regs)) return -1;
  if (untraced) {
    if (!step_over_untraced(task)) return -1;
  } else {
    if (!run_to(task, StopKind::kSyscallEntry)) return -1;
    if (at_entry) at_entry();
    if (!run_to(task, StopKind::kSyscallExit)) return -1;
  }
  Registers after;
  if (!task.get_regs(&after) || !task.set_regs(saved)) return -1;
  *ok = true;
  return static_cast<int64_t>(after.rax);
}

StackScratch::StackScratch(Task& task) : task_(task) {
  Registers regs;
  task.get_regs(&regs);
  base_ = ((regs.rsp - kRedZone - kScratchSize) & ~uint64_t{15});
  saved_.resize(kScratchSize);
  if (!task_.read_mem(base_, saved_.data(), saved_.size())) saved_.clear();
}

StackScratch::~StackScratch() {
  if (!saved_.empty()) task_.write_mem(base_, saved_.data(), saved_.size());
}

uint64_t StackScratch::push(const std::string& data) {
  uint64_t addr = base_ + used_;
  std::string bytes = data;
  bytes.push_back('\0');
  if (used_ + bytes.size() > kScratchSize || !task_.write_mem(addr, bytes.data(), bytes.size())) {
    return 0;
  }
  used_ += (bytes.size() + 15) & ~size_t{15};
  return addr;
}

}  // namespace rrx
