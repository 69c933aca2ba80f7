// pid_ns_init_signal: the first child in a new pid namespace is its init,
// and the kernel drops the signals init has no handler for (recorded, the
// tracer still sees them stop it). The child sends itself SIGQUIT and
// SIGTERM, which do nothing, then SIGUSR1, which its handler catches.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int caught;

static void on_usr1(int sig) {
  (void)sig;
  caught++;
}

int main(void) {
  if (unshare(CLONE_NEWPID) != 0) {
    printf("no new pid namespace here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    printf("child: pid %d in its namespace\n", getpid());
    kill(getpid(), SIGQUIT);
    kill(getpid(), SIGTERM);
    signal(SIGUSR1, on_usr1);
    kill(getpid(), SIGUSR1);
    printf("child: still here, its handler ran %d time(s)\n", caught);
    fflush(stdout);
    _exit(55);
  }
  int status;
  if (waitpid(child, &status, 0) != child) return 1;
  printf("child ended: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return 0;
}
