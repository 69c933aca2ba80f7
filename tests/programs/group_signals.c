// group_signals: signals its whole process group, as programs that clean up
// their job do (kill(0, ...)). The recorder is in that group too; it must
// stay alive and record what the program does with each signal: a handled
// SIGUSR1, SIGTRAP (sent, not a breakpoint's) and real-time signal, an
// ignored SIGUSR2, and at last a default
// SIGABRT that ends the program (status 128+6) after its work is done.
// Run it in a session of its own: it signals everything in its group.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled[65];

static void on_signal(int sig) { handled[sig]++; }

// sigaction, not signal(): under -std=c11 signal() resets the handler.
static void handle(int sig) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction(sig, &action, NULL);
}

int main(void) {
  handle(SIGUSR1);
  handle(SIGTRAP);
  handle(SIGRTMIN + 1);
  signal(SIGUSR2, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  int sigs[] = {SIGUSR1, SIGUSR2, SIGTRAP, SIGRTMIN + 1, SIGUSR1};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    if (kill(0, sigs[i]) != 0) {
      perror("kill");
      return 1;
    }
  }
  printf("handled: SIGUSR1 %d times, SIGTRAP %d, SIGRTMIN+1 %d\n", (int)handled[SIGUSR1],
         (int)handled[SIGTRAP], (int)handled[SIGRTMIN + 1]);
  printf("aborting the group\n");
  kill(0, SIGABRT);
  pause();
  return 99;  // not reached: SIGABRT's default action ends the program
}
