/* gdb end-to-end debuggee with threads: two workers call work(id, round)
   for rounds 1..3; after all, hits[id] = 1+2+3 = 6 for each worker. */
#include <pthread.h>
#include <stdio.h>

int hits[2];

void work(int id, int round) {
  hits[id] += round; /* LINE_WORK */
}

void* worker(void* arg) {
  int id = (int)(long)arg;
  for (int round = 1; round <= 3; round++) work(id, round);
  return NULL;
}

int main(void) {
  pthread_t threads[2];
  for (long i = 0; i < 2; i++) pthread_create(&threads[i], NULL, worker, (void*)i);
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  printf("hits %d %d\n", hits[0], hits[1]); /* LINE_PRINT */
  return 0;
}
