#include "record/user_end.h"

#include <signal.h>

namespace rrx {
namespace {

constexpr int kEndSignals[] = {SIGTERM, SIGHUP};
volatile sig_atomic_t caught = 0;
struct sigaction previous[sizeof kEndSignals / sizeof kEndSignals[0]];
bool installed[sizeof kEndSignals / sizeof kEndSignals[0]];

void on_end_signal(int sig) {
  if (caught == 0) caught = sig;
}

}  // namespace

void catch_user_end_signals() {
  caught = 0;
  for (size_t i = 0; i < sizeof kEndSignals / sizeof kEndSignals[0]; ++i) {
    installed[i] = false;
    if (sigaction(kEndSignals[i], nullptr, &previous[i]) != 0 ||
        previous[i].sa_handler == SIG_IGN)
      continue;
    struct sigaction action = {};
    action.sa_handler = on_end_signal;
    sigemptyset(&action.sa_mask);
    installed[i] = sigaction(kEndSignals[i], &action, nullptr) == 0;
  }
}

int user_end_signal() { return caught; }

void release_user_end_signals() {
  for (size_t i = 0; i < sizeof kEndSignals / sizeof kEndSignals[0]; ++i) {
    if (installed[i]) sigaction(kEndSignals[i], &previous[i], nullptr);
    installed[i] = false;
  }
}

}  // namespace rrx
