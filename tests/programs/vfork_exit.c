// vfork_exit: vfork children that end with _exit instead of exec'ing. The
// parent resumes only when the child has let go of their shared memory,
// after the child's exit; meanwhile the child's writes (a new mapping, a
// closed fd, a changed signal mask) land in the memory they share.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int* shared_page;

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int round = 0; round < 3; round++) {
    pid_t child = vfork();
    if (child == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      if (round == 0) close(0);
      if (!shared_page) {
        shared_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      }
      *shared_page += 10 + round;
      _exit(70 + round);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) return 1;
    printf("round %d: child exited %d, value the child left %d\n", round, WEXITSTATUS(status),
           shared_page ? *shared_page : -1);
  }
  return 0;
}
