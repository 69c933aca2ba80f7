// poll_sigchld: the self-pipe pattern: a SIGCHLD handler writes to a pipe
// that the program waits on in poll(2) with no timeout; a child exits a
// little later. The signal arrives while poll blocks (inside the preload
// library when recording buffers syscalls) and must be delivered there.
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wake[2];

static void on_child(int sig) {
  (void)sig;
  char c = 'x';
  (void)!write(wake[1], &c, 1);
}

int main(void) {
  if (pipe(wake) != 0) return 1;
  struct sigaction sa = {.sa_handler = on_child};
  sigaction(SIGCHLD, &sa, NULL);
  for (int round = 0; round < 3; ++round) {
    pid_t child = fork();
    if (child == 0) {
      struct timespec pause = {0, 20 * 1000 * 1000};
      nanosleep(&pause, NULL);
      _exit(round);
    }
    struct pollfd p = {wake[0], POLLIN, 0};
    int n;
    while ((n = poll(&p, 1, -1)) < 0) {
    }
    char c;
    (void)!read(wake[0], &c, 1);
    int status;
    waitpid(child, &status, 0);
    printf("round %d: poll woke (%d), child exit %d\n", round, n, WEXITSTATUS(status));
  }
  return 0;
}
