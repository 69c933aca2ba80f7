// forktree: a process tree of depth 2. The root forks children 1 and 2; each
// forks grandchildren exiting with 10*i+j and exits with the sum of their
// codes. Only the root prints, in a fixed order, so the output is the same
// whatever the scheduling. pids are printed: replay must reproduce them.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_code(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

static int child(int i) {
  pid_t g[2];
  for (int j = 0; j < 2; j++) {
    g[j] = fork();
    if (g[j] < 0) return 255;
    if (g[j] == 0) _exit(10 * i + j + 1);
  }
  int sum = 0;
  for (int j = 0; j < 2; j++) sum += wait_code(g[j]);
  return sum;
}

int main(void) {
  printf("root pid %d\n", (int)getpid());
  fflush(stdout);  // fork copies unflushed stdio buffers
  pid_t c[2];
  for (int i = 0; i < 2; i++) {
    c[i] = fork();
    if (c[i] < 0) { perror("fork"); return 1; }
    if (c[i] == 0) _exit(child(i + 1));
  }
  for (int i = 0; i < 2; i++)
    printf("child %d (pid %d) exited %d (grandchildren %d+%d)\n", i + 1,
           (int)c[i], wait_code(c[i]), 10 * (i + 1) + 1, 10 * (i + 1) + 2);
  printf("no more children: %s\n", wait(NULL) < 0 ? "yes" : "no");
  return 0;
}
