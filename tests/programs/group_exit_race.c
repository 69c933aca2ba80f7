// group_exit_race: the main thread wakes two threads blocked in read()
// and calls exit_group at once. They were not held by the recorder
// (blocked in the kernel), so while it holds the main thread at its
// exit_group's entry they may return from read() and make more syscalls:
// the trace then shows those after that entry, then their ends. Replay
// must let them happen before the group exit kills the threads.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int wake[2];

static void* waiter(void* arg) {
  (void)arg;
  char c;
  if (read(wake[0], &c, 1) != 1) return NULL;
  for (;;) syscall(SYS_getppid);
  return NULL;
}

int main(void) {
  pthread_t t[2];
  if (pipe(wake) != 0) return 1;
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, waiter, NULL);
  usleep(20000);  // both blocked in read() (a scheduling point: not a correctness need)
  printf("main: waking the threads and ending the process\n");
  fflush(stdout);
  if (write(wake[1], "xy", 2) != 2) return 1;
  syscall(SYS_exit_group, 0);
  return 1;
}
