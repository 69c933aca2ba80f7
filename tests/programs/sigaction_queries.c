// sigaction_queries: signal dispositions set and queried (sigaction with no
// new action, as interpreters do for every signal at start-up; buffered,
// they must still answer what was set). A handler runs, a signal is
// ignored, and every answer is printed.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { handled += sig == SIGUSR1; }

static const char* describe(int sig) {
  struct sigaction now;
  if (sigaction(sig, NULL, &now) != 0) return "query failed";
  if (now.sa_handler == SIG_DFL) return "default";
  if (now.sa_handler == SIG_IGN) return "ignored";
  return now.sa_handler == on_usr1 && (now.sa_flags & SA_RESTART) ? "on_usr1, restart" : "other";
}

int main(void) {
  int defaults = 0;
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction now;
    defaults += sigaction(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL;
  }
  printf("signals at default: %d\n", defaults);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  printf("SIGUSR1: %s\n", describe(SIGUSR1));
  raise(SIGUSR1);
  printf("handled %d\n", (int)handled);
  signal(SIGUSR1, SIG_IGN);
  raise(SIGUSR1);
  printf("SIGUSR1: %s, handled %d\n", describe(SIGUSR1), (int)handled);
  printf("query of signal 0: %s\n", sigaction(0, NULL, &sa) == 0 ? "accepted" : "refused");
  return 0;
}
