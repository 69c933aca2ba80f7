// pid_ns_init_fault: the init of a new pid namespace dereferences a null
// pointer with no SIGSEGV handler. The kernel spares a namespace's init
// most signals, but not a fault's: it dies of SIGSEGV, and its parent
// prints so. (Traced, the kernel would spare it that too: the recorder
// must let it die as it would natively.)
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (unshare(CLONE_NEWPID) != 0) {
    printf("no new pid namespace here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    volatile int* nothing = NULL;
    *nothing = getpid();  // pid 1
    _exit(3);
  }
  int status;
  if (waitpid(child, &status, 0) != child) return 1;
  if (WIFSIGNALED(status))
    printf("the namespace's init was killed by signal %d\n", WTERMSIG(status));
  else
    printf("the namespace's init exited with %d\n", WEXITSTATUS(status));
  return 0;
}
