// signals_self: signals a process sends itself. raise() and kill(getpid())
// are handled before they return; blocked signals stay pending and are
// delivered on unblock in the kernel's order (lowest number first, queued
// real-time signals once per send). The handler log is printed.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t log_sig[32];
static volatile sig_atomic_t log_len;

static void handler(int sig) {
  if (log_len < 32) log_sig[log_len++] = sig;
}

static void print_log(const char* when) {
  printf("%s:", when);
  for (int i = 0; i < log_len; i++) {
    int s = log_sig[i];
    if (s >= SIGRTMIN) printf(" SIGRTMIN+%d", s - SIGRTMIN);
    else printf(" %s", sigabbrev_np(s));
  }
  printf("\n");
  log_len = 0;
}

int main(void) {
  int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGRTMIN, SIGRTMIN + 1};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }

  raise(SIGUSR1);
  print_log("after raise(SIGUSR1)");
  kill(getpid(), SIGUSR2);
  print_log("after kill(getpid(), SIGUSR2)");

  sigset_t block, old, pending;
  sigemptyset(&block);
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&block, sigs[i]);
  sigprocmask(SIG_BLOCK, &block, &old);
  kill(getpid(), SIGRTMIN + 1);
  kill(getpid(), SIGUSR2);
  kill(getpid(), SIGRTMIN);
  kill(getpid(), SIGHUP);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGUSR1);  // merged with the pending one
  kill(getpid(), SIGRTMIN);  // real-time: queued twice
  print_log("while blocked");
  sigpending(&pending);
  printf("pending:");
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigismember(&pending, sigs[i]))
      printf(" %d", sigs[i]);
  printf("\n");
  sigprocmask(SIG_SETMASK, &old, NULL);
  print_log("after unblock");
  return 0;
}
