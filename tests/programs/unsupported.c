// unsupported: makes a call rrx does not support, which `rrx record` must
// refuse with one "rrx:" line naming it and a non-zero exit. Without
// arguments: shmget (System V shared memory changes memory behind the
// recorder's back). With "ptrace": PTRACE_SINGLESTEP of a traced child
// (a ptrace request the recorder does not emulate). Natively both work
// and it exits 0.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int single_step_a_child(void) {
  printf("tracing a child\n");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  long r = ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
  printf("singlestep returned %ld\n", r);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "ptrace") == 0) return single_step_a_child();
  printf("calling shmget\n");
  fflush(stdout);
  long id = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id >= 0) shmctl((int)id, IPC_RMID, NULL);
  printf("shmget returned %s\n", id >= 0 ? "an id" : "an error");
  return 0;
}
