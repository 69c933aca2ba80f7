// leader_exits_first: the main thread ends with SYS_exit while its other
// threads go on; the kernel reports the leader gone only after the last of
// them, so neither recording nor replay may wait for that report before
// letting them run. A worker joins its sibling (whose tid the kernel
// clears at its exit), prints, and ends the process with exit(3).
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_t first;

static void* count(void* arg) {
  long sum = 0;
  for (long i = 0; i < (long)arg; i++) sum += i;
  printf("first worker: sum %ld\n", sum);
  return NULL;
}

static void* finish(void* arg) {
  (void)arg;
  pthread_join(first, NULL);
  printf("second worker: joined the first, ending the process\n");
  fflush(stdout);
  exit(3);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t second;
  if (pthread_create(&first, NULL, count, (void*)100000L) != 0 ||
      pthread_create(&second, NULL, finish, NULL) != 0) {
    perror("pthread_create");
    return 1;
  }
  // A signal for a thread that may not have run yet (ignored by default).
  pthread_kill(second, SIGCHLD);
  printf("main thread: leaving first\n");
  syscall(SYS_exit, 0);
  return 1;  // not reached
}
