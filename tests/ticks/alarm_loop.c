// SIGALRM from setitimer interrupts a loop that makes no syscalls; the
// number of loop iterations between signals differs from run to run, so
// a replay reproduces it only if each signal lands at the recorded point.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t handled = 0;
static volatile unsigned long iterations_at[8];
static volatile unsigned long iterations = 0;

static void on_alarm(int sig) {
  (void)sig;
  if (handled < 8) iterations_at[handled] = iterations;
  handled++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every_2ms = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &every_2ms, NULL);
  while (handled < 8) iterations++;  // no syscalls in here
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < 8; ++i) printf("signal %d after %lu iterations\n", i, iterations_at[i]);
  printf("handled %d signals, %lu iterations\n", (int)handled, iterations);
  return 0;
}
