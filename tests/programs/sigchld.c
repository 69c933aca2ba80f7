// sigchld: a SIGCHLD handler counts exiting children. Each child is forked
// with SIGCHLD blocked and the parent sigsuspends until the handler ran, so
// no two SIGCHLDs can merge and the count is always 3; then it reaps.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_chld(int sig) {
  (void)sig;
  count++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);

  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  fflush(stdout);
  for (int i = 0; i < 3; i++) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(40 + i);
    int before = count;
    while (count == before) sigsuspend(&old);  // SIGCHLD unblocked only here
    int status;
    if (waitpid(pid, &status, 0) != pid) return 1;
    printf("child %d: exit %d, handler count %d\n", i, WEXITSTATUS(status), (int)count);
  }
  printf("SIGCHLD count: %d\n", (int)count);
  return 0;
}
