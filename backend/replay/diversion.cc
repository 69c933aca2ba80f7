#include "replay/diversion.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/stop.h"
#include "replay/session_checkpoint.h"

namespace rrx {
namespace {

// How often a running copy checks for the debugger's Ctrl-C.
constexpr useconds_t kPollMicroseconds = 2000;

}  // namespace

std::unique_ptr<Diversion> Diversion::start(Task& task, std::string* error) {
  pid_t copy = fork_stopped_copy(task, error);
  if (copy < 0) return nullptr;
  return std::unique_ptr<Diversion>(new Diversion(copy));
}

Diversion::~Diversion() {
  if (!gone_) kill_tracee(task_.tid());
}

Diversion::Stop Diversion::run(bool single_step, int signal, const Breakpoints& breakpoints,
                               const std::function<bool()>& interrupted) {
  if (gone_) return {};
  Registers regs;
  if (!task_.get_regs(&regs)) return {};
  // Standing on a breakpoint: run its instruction with the int3 lifted.
  auto under = breakpoints.find(regs.rip);
  if (under != breakpoints.end()) {
    uint8_t int3 = 0xcc;
    task_.write_mem(under->first, &under->second, 1);
    bool stepped = task_.single_step(signal);
    Stop stop = stepped ? wait_for_stop(true, breakpoints) : Stop{};
    if (!gone_) task_.write_mem(under->first, &int3, 1);
    if (single_step || stop.outcome != Outcome::kStepped) return stop;
    signal = 0;
  }
  if (!(single_step ? task_.single_step(signal) : task_.cont(signal))) return {};
  return wait_for_stop(single_step, breakpoints, interrupted);
}

Diversion::Stop Diversion::wait_for_stop(bool single_step, const Breakpoints& breakpoints,
                                         const std::function<bool()>& interrupted) {
  bool stopping = false;  // we sent SIGSTOP for a Ctrl-C
  for (;;) {
    int status;
    pid_t got = waitpid(task_.tid(), &status, __WALL | (interrupted && !stopping ? WNOHANG : 0));
    if (got == 0) {  // still running: the copy has no events to poll at
      if (interrupted()) {
        syscall(SYS_tgkill, task_.tid(), task_.tid(), SIGSTOP);
        stopping = true;
      } else {
        usleep(kPollMicroseconds);
      }
      continue;
    }
    if (got != task_.tid() || WIFEXITED(status) || WIFSIGNALED(status)) {
      gone_ = true;
      return {};
    }
    int sig = WSTOPSIG(status);
    if (stopping && sig == SIGSTOP) return {Outcome::kSignal, SIGINT};
    if (status >> 16) {  // a ptrace event (seccomp, fork, ...): let it go on
      if (!task_.cont()) return {};
      continue;
    }
    if (sig != SIGTRAP) return {Outcome::kSignal, sig};
    if (single_step) return {Outcome::kStepped, 0};
    Registers regs;
    if (task_.get_regs(&regs) && breakpoints.count(regs.rip - 1)) {
      regs.rip -= 1;
      task_.set_regs(regs);
      return {Outcome::kBreakpoint, 0};
    }
    return {Outcome::kSignal, SIGTRAP};
  }
}

}  // namespace rrx
