// killed_with_threads: a process whose threads all wait in pause() is
// killed by a SIGTERM that one of them takes. The others end where they
// wait, in a call replay does not block in: the replay must let the fatal
// delivery happen before it looks for their ends. The parent reports the
// status it collected.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready[2];

static void* wait_forever(void* arg) {
  (void)arg;
  if (write(ready[1], "x", 1) != 1) return NULL;
  for (;;) pause();
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, wait_forever, NULL);
    for (;;) pause();
  }
  char c;
  for (int i = 0; i < 2; i++) {
    if (read(ready[0], &c, 1) != 1) return 1;
  }
  usleep(20000);  // let the threads reach pause()
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  printf("child %s by signal %d\n", WIFSIGNALED(status) ? "killed" : "not killed",
         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return 0;
}
