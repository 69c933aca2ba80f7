// spin_handoff: two threads pass a token back and forth through a shared
// variable, each spinning with no syscalls until it is its turn. Built
// without soft ticks, so under rrx only a wall-clock time slice lets the
// waiting thread run (else recording would spin forever); the spin counts
// differ from run to run and must replay exactly.
//
// Replay finds such a preemption point with a breakpoint hit (and a
// register and stack comparison) per execution of the instruction since the
// thread's last event, so each spin does 100000 statements of straight-line
// work: a slice then holds thousands of spins, not hundreds of millions.
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 2

static volatile int turn;
static long spins[2];
static volatile unsigned long work_sink;

#define X10(s) s s s s s s s s s s
static void work(void) {
  unsigned long x = work_sink;
  X10(X10(X10(X10(X10(x = x * 31 + 7;)))))
  work_sink = x;
}

static void* player(void* arg) {
  int me = (int)(long)arg;
  for (int round = 0; round < ROUNDS; round++) {
    while (__atomic_load_n(&turn, __ATOMIC_SEQ_CST) != me) {
      work();
      spins[me]++;
    }
    __atomic_store_n(&turn, 1 - me, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

int main(void) {
  pthread_t other;
  pthread_create(&other, NULL, player, (void*)1L);
  player((void*)0L);
  pthread_join(other, NULL);
  printf("%d rounds; spins %ld and %ld\n", ROUNDS, spins[0], spins[1]);
  return 0;
}
