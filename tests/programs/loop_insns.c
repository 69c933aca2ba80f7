// loop_insns: loop, loope, loopne and jrcxz branch without being jccs;
// dynamic ticks count them too. Each is run in its taken and not-taken
// cases (their stubs emulate them). Then a SIGALRM arrives in the middle
// of a long `loop` countdown: its handler prints the %rcx it interrupted
// and ends the countdown. Replay must deliver the signal at that very
// iteration, which it finds quickly only if the loop's branches count.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <ucontext.h>

static long loop_count(long n) {  // iterations of `loop` from n
  long iterations = 0;
  __asm__ volatile("1: inc %0\n\tloop 1b" : "+r"(iterations), "+c"(n) : : "cc");
  return iterations;
}

// loope goes on while %rcx != 0 and ZF; loopne while %rcx != 0 and !ZF.
// The value compared is counted down with the iterations; returns what is
// left of %rcx * 1000 + the compared value.
static long loope_count(long n, long stop_at) {
  long v = 10;
  __asm__ volatile("1: dec %0\n\tcmp %2, %0\n\tloope 1b" : "+r"(v), "+c"(n) : "r"(stop_at) : "cc");
  return n * 1000 + v;
}

static long loopne_count(long n, long stop_at) {
  long v = 10;
  __asm__ volatile("1: dec %0\n\tcmp %2, %0\n\tloopne 1b" : "+r"(v), "+c"(n) : "r"(stop_at) : "cc");
  return n * 1000 + v;
}

static int jrcxz_taken(long n) {
  int taken = 1;
  __asm__ volatile("jrcxz 1f\n\tmovl $0, %0\n1:" : "+r"(taken) : "c"(n));
  return taken;
}

static volatile long rcx_at_signal = -1;

static void on_alarm(int sig, siginfo_t* info, void* ctx) {
  (void)sig;
  (void)info;
  ucontext_t* uc = ctx;
  rcx_at_signal = uc->uc_mcontext.gregs[REG_RCX];
  uc->uc_mcontext.gregs[REG_RCX] = 1;  // the countdown's last iteration
}

int main(void) {
  printf("loop from 7: %ld iterations\n", loop_count(7));
  printf("loope, equal at first: %ld\n", loope_count(5, 9));
  printf("loope, never equal: %ld\n", loope_count(5, 8));
  printf("loopne, never equal: %ld\n", loopne_count(5, -100));
  printf("loopne, equal at 7: %ld\n", loopne_count(8, 7));
  printf("jrcxz with 0: %d, with 3: %d\n", jrcxz_taken(0), jrcxz_taken(3));

  struct sigaction sa = {0};
  sa.sa_sigaction = on_alarm;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval t = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &t, NULL);
  long n = 1L << 40;  // far longer than the timer: the signal ends it
  __asm__ volatile("1: loop 1b" : "+c"(n));
  printf("signal %s in the countdown\n", rcx_at_signal > 0 ? "arrived" : "did not arrive");
  printf("countdown interrupted at %ld\n", rcx_at_signal);
  return 0;
}
