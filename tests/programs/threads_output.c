// threads_output: four threads race to write lines to stdout with write(2),
// all at once after a barrier. Replay must show the lines in the order
// they reached the output when recorded (two writes inside the kernel at
// once finish in an order their exit stops need not follow).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static pthread_barrier_t bar;
static void* worker(void* arg) {
  long id = (long)arg;
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 200; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "thread %ld line %d\n", id, i);
    if (write(1, line, (size_t)n) != n) return NULL;
  }
  return NULL;
}
int main(void) {
  pthread_t t[4];
  pthread_barrier_init(&bar, NULL, 4);
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void*)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  return 0;
}
