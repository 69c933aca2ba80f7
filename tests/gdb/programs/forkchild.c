/* gdb end-to-end debuggee: the parent forks; the child prints its pid and
   runs a loop; the parent waits. Debugged with `rr-replay -p <child pid>`.
   Expected: in the child, after iteration k of the loop, acc = 5*(k+1). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int acc = 0;

static void child_loop(void) {
  for (int k = 0; k < 6; k++) {
    acc += 5; /* LINE_CHILD_BODY */
  }
  printf("child acc %d\n", acc); /* LINE_CHILD_DONE */
}

int main(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child pid %d\n", (int)getpid());
    fflush(stdout);
    child_loop();
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("parent saw child exit %d\n", WEXITSTATUS(status)); /* LINE_PARENT_WAITED */
  return 0;
}
