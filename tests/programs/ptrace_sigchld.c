// ptrace_sigchld: a tracer that learns of its tracee's stop from SIGCHLD,
// as gdb's event loop does. The parent blocks SIGCHLD, forks a child that
// asks to be traced and stops itself, waits in sigsuspend for the SIGCHLD
// (its handler keeps the siginfo: CLD_TRAPPED, the child, SIGSTOP), then
// collects the stop with waitpid(WNOHANG) and lets the child finish.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t code, from, status_of;

static void on_sigchld(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  code = info->si_code;
  from = info->si_pid;
  status_of = info->si_status;
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigchld;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &action, NULL);
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    _exit(0);
  }
  while (!code) sigsuspend(&old);
  printf("SIGCHLD: trapped %s, from the child %s, signal %s\n", code == CLD_TRAPPED ? "yes" : "no",
         from == pid ? "yes" : "no", strsignal(status_of));
  int ok = code == CLD_TRAPPED && from == pid && status_of == SIGSTOP;
  int status = 0;
  ok &= waitpid(pid, &status, WNOHANG) == pid && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP;
  printf("waitpid(WNOHANG): status 0x%x\n", status);
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  ok &= waitpid(pid, &status, 0) == pid && WIFEXITED(status);
  printf("child exited: %s\n", WIFEXITED(status) ? "yes" : "no");
  return !ok;
}
