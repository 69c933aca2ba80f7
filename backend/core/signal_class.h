// Telling signals caused by the instruction a thread executed (which
// replay reproduces by itself) from signals sent from outside (which
// replay must inject).
#pragma once

#include <signal.h>

namespace rrx {

inline bool is_synchronous_signal(const siginfo_t& info) {
  switch (info.si_signo) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
      // Kernel-generated codes are positive; SI_KERNEL marks a general
      // protection fault. SI_USER/SI_TKILL/SI_QUEUE are sent by someone.
      return info.si_code > 0;
    default:
      return false;
  }
}

// The signals whose default action stops the thread group (group stop).
inline bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

}  // namespace rrx
