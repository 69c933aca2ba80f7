/* Four threads increment one counter without synchronisation. Natively
   the total differs from run to run (lost updates); a replay must print
   exactly the total and the per-thread progress the recording saw. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ROUNDS 1000000

static volatile long counter = 0;
static long seen_at_end[THREADS];

static void* bump(void* arg) {
  long id = (long)arg;
  for (int i = 0; i < ROUNDS; i++) counter++;
  seen_at_end[id] = counter;
  return NULL;
}

int main(void) {
  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, bump, (void*)i);
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  for (int i = 0; i < THREADS; i++) printf("thread %d saw %ld\n", i, seen_at_end[i]);
  printf("counter %ld of %d\n", counter, THREADS * ROUNDS);
  return 0;
}
