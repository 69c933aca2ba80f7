// One thread computes for a long while without syscalls, then sets a flag;
// the other spins on that flag without syscalls. Recording finishes only if
// the spinning thread is preempted (by tick slices, with dynamic ticks in
// uninstrumented code), and the replay must reproduce where the switches
// fell: the spin count differs from run to run.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int ready;
static unsigned long long result;

static void *compute(void *arg) {
  (void)arg;
  unsigned long long x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < 30000000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (x & 1) sum += x >> 32;
  }
  result = sum;
  atomic_store_explicit(&ready, 1, memory_order_release);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, compute, NULL);
  unsigned long long spins = 0;
  while (!atomic_load_explicit(&ready, memory_order_acquire)) spins++;
  pthread_join(t, NULL);
  printf("result %llu after %llu spins\n", result, spins);
  return 0;
}
