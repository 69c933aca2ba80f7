// unsupported: makes a call rrx does not support, which `rrx record` must
// refuse with one "rrx:" line naming it and a non-zero exit. Without
// arguments: modify_ldt (a local descriptor table changes what
// instructions do). With "ioctl": an old-style ioctl rrx does not know and
// that succeeds (a bridge query, SIOCGIFBR, on a socket): rrx cannot tell
// what it changed. With "ptrace": PTRACE_SINGLESTEP of a traced child (a
// ptrace request the recorder does not emulate). Natively all work and it
// exits 0.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
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

static int query_bridges(void) {
  unsigned long get_bridges[3] = {1, 0, 0};
  int r = ioctl(socket(AF_INET, SOCK_DGRAM, 0), 0x8940, get_bridges);
  printf("ioctl returned %d\n", r);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "ptrace") == 0) return single_step_a_child();
  if (argc > 1 && strcmp(argv[1], "ioctl") == 0) return query_bridges();
  printf("calling modify_ldt\n");
  fflush(stdout);
  char table[64];
  long r = syscall(SYS_modify_ldt, 0, table, sizeof table);
  printf("modify_ldt returned %ld\n", r);
  return 0;
}
