#include "record/group_signal_shield.h"

namespace rrx {
namespace {

// Default action "terminate", "core" or "stop (tty)"; SIGKILL and SIGSTOP
// cannot be ignored, SIGSEGV/SIGBUS/SIGFPE/SIGILL are the recorder's own
// faults (a sent SIGSEGV is passed over in core/tracer_cpuid.cc), and
// SIGALRM has the scheduler's handler (record_scheduler.cc).
constexpr int kShielded[] = {SIGTRAP,   SIGABRT, SIGUSR1, SIGUSR2, SIGPIPE, SIGSTKFLT,
                             SIGXCPU,   SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
                             SIGSYS,    SIGTTIN, SIGTTOU};

bool ignore_if_default(int sig) {
  struct sigaction now;
  if (sigaction(sig, nullptr, &now) != 0 || (now.sa_flags & SA_SIGINFO) ||
      now.sa_handler != SIG_DFL) {
    return false;
  }
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return sigaction(sig, &ignore, nullptr) == 0;
}

}  // namespace

GroupSignalShield::GroupSignalShield() {
  for (int sig : kShielded) {
    if (ignore_if_default(sig)) ignored_.push_back(sig);
  }
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) {
    if (ignore_if_default(sig)) ignored_.push_back(sig);
  }
}

GroupSignalShield::~GroupSignalShield() {
  for (int sig : ignored_) signal(sig, SIG_DFL);
}

}  // namespace rrx
