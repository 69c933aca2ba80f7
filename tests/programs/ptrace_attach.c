// ptrace_attach: a parent attaches to children that are already running.
// PTRACE_ATTACH stops the first (its pause() is interrupted by SIGSTOP);
// the parent reads and changes a variable and detaches, then wakes it
// with SIGUSR1. PTRACE_SEIZE does not stop the second: the SIGUSR1 sent
// to it stops it for the parent instead of being delivered, and the
// parent passes it on with PTRACE_CONT. Each child prints what it ended
// with; exits non-zero if something is not as the kernel does it natively.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long value = 1;
static volatile sig_atomic_t woken;

static void on_usr1(int sig) { woken = sig; }

// Waits until the child sits in pause(). (A signal that finds it on the
// way there, inside the syscall-buffering code, is held by rrx until its
// next syscall exit, which pause() never reaches: a limit of recording.)
static void wait_until_paused(pid_t pid) {
  char path[64], text[64];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  for (;;) {
    FILE* f = fopen(path, "r");
    if (!f) return;
    int got = fgets(text, sizeof text, f) != NULL;
    fclose(f);
    if (got && atoi(text) == SYS_pause) return;
    usleep(1000);
  }
}

static pid_t start_child(int ready_fd[2]) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready_fd[0]);
    if (write(ready_fd[1], "r", 1) != 1) _exit(2);
    while (!woken) pause();
    printf("child: woken, value %ld\n", value);
    fflush(stdout);
    _exit(value == 2 ? 0 : 1);
  }
  char c;
  if (read(ready_fd[0], &c, 1) != 1) return -1;
  wait_until_paused(pid);
  return pid;
}

static int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child exited: %s, status %d\n", WIFEXITED(status) ? "yes" : "no", WEXITSTATUS(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  int ready[2];
  if (pipe(ready) != 0) return 1;
  int ok = 1, status = 0;

  pid_t pid = start_child(ready);
  ok &= ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0;
  ok &= waitpid(pid, &status, 0) == pid;
  printf("attached: stopped by SIGSTOP: %s\n",
         WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP ? "yes" : "no");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP;
  long word = ptrace(PTRACE_PEEKDATA, pid, &value, NULL);
  printf("PEEKDATA value: %ld\n", word);
  ok &= word == 1 && ptrace(PTRACE_POKEDATA, pid, &value, (void*)2) == 0;
  errno = 0;
  ok &= ptrace(PTRACE_ATTACH, pid, NULL, NULL) == -1 && errno == EPERM;  // already traced
  ok &= ptrace(PTRACE_DETACH, pid, NULL, NULL) == 0;
  kill(pid, SIGUSR1);
  ok &= wait_exit(pid);

  pid = start_child(ready);
  ok &= ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0;
  kill(pid, SIGUSR1);
  ok &= waitpid(pid, &status, 0) == pid;
  printf("seized: stopped by SIGUSR1: %s\n",
         WIFSTOPPED(status) && WSTOPSIG(status) == SIGUSR1 ? "yes" : "no");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGUSR1;
  ok &= ptrace(PTRACE_POKEDATA, pid, &value, (void*)2) == 0;
  ok &= ptrace(PTRACE_CONT, pid, NULL, (void*)SIGUSR1) == 0;
  ok &= wait_exit(pid);
  printf("all as expected: %s\n", ok ? "yes" : "no");
  return !ok;
}
