// untraced_clone: a child made with CLONE_UNTRACED, which a tracer's
// PTRACE_O_TRACECLONE does not follow. rrx must record it anyway (and not
// let it run free in replay): it writes to a pipe and exits with a status
// the parent reports.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int pipe_fds[2];

static int child_main(void* arg) {
  (void)arg;
  if (write(pipe_fds[1], "u", 1) != 1) {
    perror("child write");
    return 1;
  }
  return 7;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(pipe_fds) != 0) return 1;
  static char stack[64 * 1024];
  pid_t child = clone(child_main, stack + sizeof stack, CLONE_UNTRACED | SIGCHLD, NULL);
  if (child < 0) return 1;
  char c = 0;
  ssize_t n = read(pipe_fds[0], &c, 1);
  int status = 0;
  waitpid(child, &status, 0);
  printf("read %zd byte '%c' from the untraced child, which exited %d\n", n, c,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
