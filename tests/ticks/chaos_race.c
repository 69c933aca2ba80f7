// Two threads add to a shared counter with a read-modify-write that is not
// atomic. Only one counted branch lies inside the window, and thousands
// outside it, so preemption at the end of a normal time slice almost never
// lands inside: plain recording gives the exact total. rrx --chaos uses
// tiny random slices, so a lost update shows up within a few recordings.
// Exits 1 when updates were lost.
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 400
#define OUTSIDE 1000

static volatile long counter;
static volatile long sink;

static void* add(void* arg) {
  (void)arg;
  for (int r = 0; r < ROUNDS; r++) {
    for (int k = 0; k < OUTSIDE; k++) sink += k;  // ticks outside the window
    long v = counter;
    if (v >= 0) v = v + 1;  // the one tick inside the window
    counter = v;
  }
  return NULL;
}

int main(void) {
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, add, NULL);
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  printf("counter %ld of %d\n", counter, 2 * ROUNDS);
  return counter == 2 * ROUNDS ? 0 : 1;
}
