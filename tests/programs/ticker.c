/* Runs until it is killed, the way a hung program does: the main thread
   prints "tick N" every 50 ms, and `ticker THREADS` adds threads that
   compute without syscalls in between (they are preempted, and their code
   is patched to count ticks). Recordings of it are cut short on purpose,
   by SIGKILL or SIGTERM to `rrx record`. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static void* compute(void* arg) {
  (void)arg;
  for (;;) {
    for (unsigned long i = 0; i < 1000000; ++i) sink += i * i;
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 0;
  for (int t = 0; t < threads; ++t) {
    pthread_t thread;
    pthread_create(&thread, NULL, compute, NULL);
  }
  struct timespec pause = {0, 50 * 1000 * 1000};
  for (unsigned long tick = 0;; ++tick) {
    printf("tick %lu\n", tick); /* LINE_TICK */
    fflush(stdout);
    nanosleep(&pause, NULL);
  }
}
