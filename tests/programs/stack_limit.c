// stack_limit: lowers its own stack limit (setrlimit RLIMIT_STACK) and
// recurses until the stack overflows; the SIGSEGV handler, on an
// alternate stack, reports how deep it got. Where the fault comes depends
// on the limit, so replay must set it on the replayed process too.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile long depth;

static long recurse(long n) {
  if (n < 0) return 0;  // never: n only grows (keeps the compiler quiet)
  volatile char frame[256];
  frame[0] = (char)n;
  depth = n;
  return recurse(n + 1) + frame[0];
}

static void on_overflow(int sig) {
  (void)sig;
  char line[64];
  int len = snprintf(line, sizeof line, "overflowed at depth %ld\n", depth);
  write(1, line, len);
  _exit(0);
}

int main(void) {
  struct rlimit limit = {1 << 20, 1 << 20};  // 1 MiB
  if (setrlimit(RLIMIT_STACK, &limit) != 0) return 1;
  struct rlimit now;
  getrlimit(RLIMIT_STACK, &now);
  printf("stack limit %lu\n", (unsigned long)now.rlim_cur);
  fflush(stdout);
  static char alt[64 * 1024];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_overflow;
  action.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &action, NULL);
  return (int)recurse(0);
}
