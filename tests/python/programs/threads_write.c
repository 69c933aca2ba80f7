// Two threads: main writes `shared` once before the worker starts, the
// worker writes it once (42) and last.
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile int shared;
volatile int worker_tid;

static void* worker(void* arg) {
  (void)arg;
  worker_tid = (int)syscall(SYS_gettid);
  shared = 42;  // WRITE worker LINE_WORKER_WRITE
  return NULL;
}

int main(void) {
  shared = 1;  // WRITE main
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  printf("shared %d worker %d\n", shared, worker_tid);  // LINE_PRINT
  return 0;
}
