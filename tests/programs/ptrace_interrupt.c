// ptrace_interrupt: what strace does to start a program. A child stops
// itself with SIGSTOP: it must stay stopped (its parent sees the stop and
// the child writes nothing) until SIGCONT. Then the parent seizes a child
// that runs a loop of syscalls and stops it with PTRACE_INTERRUPT: the
// stop is a PTRACE_EVENT_STOP with SIGTRAP, whose siginfo says so; the
// parent ends the loop by poking the child's flag and lets it exit. Exits
// non-zero if something is not as the kernel does it natively.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long looping = 1;

static int group_stop(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(write(fds[1], "c", 1) == 1 ? 0 : 1);
  }
  close(fds[1]);
  int status;
  if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) return 1;
  printf("stopped by %s\n", sigabbrev_np(WSTOPSIG(status)));
  // Still stopped: it has written nothing.
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char c;
  ssize_t got = read(fds[0], &c, 1);
  printf("before SIGCONT: %s\n", got < 0 && errno == EAGAIN ? "nothing written" : "written");
  kill(pid, SIGCONT);
  fcntl(fds[0], F_SETFL, 0);
  got = read(fds[0], &c, 1);
  printf("after SIGCONT: %s\n", got == 1 ? "written" : "nothing written");
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
  return got == 1 ? 0 : 1;
}

static int interrupt(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    while (looping) getppid();
    _exit(0);
  }
  if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) != 0) return 1;
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0) return 1;
  int status;
  if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) return 1;
  siginfo_t info;
  if (ptrace(PTRACE_GETSIGINFO, pid, 0, &info) != 0) return 1;
  printf("interrupted: event %d, %s, siginfo code 0x%x\n", status >> 16,
         sigabbrev_np(WSTOPSIG(status)), info.si_code);
  if (ptrace(PTRACE_POKEDATA, pid, &looping, 0) != 0) return 1;
  if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) return 1;
  if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status)) return 1;
  printf("exited with %d\n", WEXITSTATUS(status));
  return status >> 16 == PTRACE_EVENT_STOP ? 1 : WEXITSTATUS(status);
}

int main(void) {
  if (group_stop() != 0) return 1;
  return interrupt();
}
