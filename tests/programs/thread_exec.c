// thread_exec: exec while other threads run, twice. First a second thread
// calls execve while the main thread and a third thread still run: the
// kernel kills the others and the exec'ing thread takes over the leader's
// pid. The new image starts a thread and execs from its main thread.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void* spinner(void* arg) {
  (void)arg;
  for (;;) usleep(1000);
  return NULL;
}

static void* exec_thread(void* arg) {
  (void)arg;
  usleep(5000);
  execl("/proc/self/exe", "thread_exec", "--from-thread", (char*)NULL);
  perror("execl");
  return NULL;
}

int main(int argc, char** argv) {
  pthread_t a, b;
  if (argc > 1 && strcmp(argv[1], "--from-leader") == 0) {
    printf("exec'd by the leader: pid %d, tid==pid %d\n", (int)getpid(), gettid() == getpid());
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--from-thread") == 0) {
    printf("exec'd by a thread: pid %d, tid==pid %d\n", (int)getpid(), gettid() == getpid());
    fflush(stdout);
    pthread_create(&a, NULL, spinner, NULL);
    usleep(5000);
    execl("/proc/self/exe", "thread_exec", "--from-leader", (char*)NULL);
    perror("execl");
    return 1;
  }
  printf("before exec: pid %d\n", (int)getpid());
  fflush(stdout);
  pthread_create(&a, NULL, spinner, NULL);
  pthread_create(&b, NULL, exec_thread, NULL);
  for (;;) pause();
}
