// ptrace_fork: following a tracee's fork (PTRACE_O_TRACEFORK). The parent
// traces a child (PTRACE_TRACEME + SIGSTOP) that forks a grandchild: the
// parent sees the child's fork event stop (GETEVENTMSG: the grandchild),
// then the grandchild's first stop (SIGSTOP, auto-attached), changes a
// variable in it (POKEDATA) and lets both go on. It collects the
// grandchild's end with waitid (not its own child: reported to it as its
// tracer), passes on the SIGCHLD that stops the child, and collects the
// child's end. The grandchild exits with the poked value, which the child
// checks.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long value = 1;
static int ok = 1;

static int stop_of(pid_t pid, const char* what) {
  int status = 0;
  pid_t got = waitpid(pid, &status, __WALL);
  printf("%s: status 0x%x\n", what, status);
  ok &= got == pid;
  return status;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t child = fork();
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    pid_t grandchild = fork();
    if (grandchild == 0) _exit((int)value);
    int status = 0;
    waitpid(grandchild, &status, 0);
    _exit(WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 1);
  }
  int status = stop_of(child, "child's first stop");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP;
  ok &= ptrace(PTRACE_SETOPTIONS, child, NULL, (void*)PTRACE_O_TRACEFORK) == 0;
  ptrace(PTRACE_CONT, child, NULL, NULL);
  status = stop_of(child, "child's fork stop");
  ok &= status >> 8 == (SIGTRAP | (PTRACE_EVENT_FORK << 8));
  unsigned long grandchild = 0;
  ptrace(PTRACE_GETEVENTMSG, child, NULL, &grandchild);
  status = stop_of((pid_t)grandchild, "grandchild's first stop");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP;
  ok &= ptrace(PTRACE_POKEDATA, (pid_t)grandchild, &value, (void*)7) == 0;
  ptrace(PTRACE_CONT, (pid_t)grandchild, NULL, NULL);
  ptrace(PTRACE_CONT, child, NULL, NULL);
  siginfo_t end;
  memset(&end, 0, sizeof end);
  ok &= waitid(P_PID, (id_t)grandchild, &end, WEXITED | __WALL) == 0;
  printf("grandchild's end (waitid): exited %s, status %d\n",
         end.si_code == CLD_EXITED && end.si_pid == (pid_t)grandchild ? "yes" : "no", end.si_status);
  ok &= end.si_code == CLD_EXITED && end.si_status == 7;
  // The grandchild's SIGCHLD stops the child for us too: pass it on.
  for (;;) {
    status = stop_of(child, "child");
    if (!WIFSTOPPED(status)) break;
    ptrace(PTRACE_CONT, child, NULL, (void*)(long)WSTOPSIG(status));
  }
  ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  printf("all as expected: %s\n", ok ? "yes" : "no");
  return !ok;
}
