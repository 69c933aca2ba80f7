// ptrace_traceme: the pattern most ptrace users follow. A forked child asks
// to be traced (PTRACE_TRACEME) and stops itself with SIGSTOP; its parent
// waits for that stop, reads the child's memory (PEEKDATA), registers
// (GETREGS, PEEKUSER, GETFPREGS) and the stop's siginfo, changes a variable
// (POKEDATA) and the stopping call's result (SETREGS), and lets it go on
// (PTRACE_CONT), then waits for its exit. A second child is resumed with
// SIGUSR1 (its handler runs), a third is killed at its stop (PTRACE_KILL).
// Prints what each side saw; exits non-zero if that is not what the kernel
// shows a native tracer.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long secret = 0x1234;
static volatile sig_atomic_t got_usr1;
static int wrong;

static void on_usr1(int sig) { got_usr1 = sig; }

static void check(int ok, const char* what) {
  if (!ok) {
    printf("WRONG: %s\n", what);
    wrong = 1;
  }
}

// Traced by its parent, stops itself; the parent makes the stopping kill()
// return 42 and sets `secret`.
static void child(int expect_usr1) {
  if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) _exit(10);
  long r = syscall(SYS_kill, getpid(), SIGSTOP);
  printf("child: kill returned %ld, secret 0x%lx, SIGUSR1 handled: %s\n", r, secret,
         got_usr1 ? "yes" : "no");
  fflush(stdout);
  _exit(r == 42 && secret == 0x5678 && (got_usr1 != 0) == expect_usr1 ? 0 : 11);
}

static pid_t start_child(int expect_usr1) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) child(expect_usr1);
  int status = 0;
  pid_t got = waitpid(pid, &status, 0);
  printf("waitpid: status 0x%x\n", status);
  check(got == pid && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP, "stopped by SIGSTOP");
  return pid;
}

// Reads the stopped child, then changes `secret` and kill()'s result.
static void inspect_and_change(pid_t pid) {
  errno = 0;
  long word = ptrace(PTRACE_PEEKDATA, pid, &secret, NULL);
  printf("PEEKDATA secret: 0x%lx (errno %d)\n", word, errno);
  check(word == 0x1234, "PEEKDATA");
  struct user_regs_struct regs;
  check(ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0, "GETREGS");
  printf("GETREGS: orig_rax %lld, rax %lld\n", (long long)regs.orig_rax, (long long)regs.rax);
  check(regs.orig_rax == SYS_kill && regs.rax == 0, "registers after kill()");
  long rip = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, regs.rip), NULL);
  check(rip == (long)regs.rip, "PEEKUSER rip");
  struct user_fpregs_struct fp;
  check(ptrace(PTRACE_GETFPREGS, pid, NULL, &fp) == 0, "GETFPREGS");
  printf("GETFPREGS: mxcsr 0x%x\n", fp.mxcsr);
  siginfo_t info;
  check(ptrace(PTRACE_GETSIGINFO, pid, NULL, &info) == 0, "GETSIGINFO");
  printf("GETSIGINFO: %s, code %d, sent by the child: %s\n", strsignal(info.si_signo),
         info.si_code, info.si_pid == pid ? "yes" : "no");
  check(info.si_signo == SIGSTOP && info.si_code == SI_USER && info.si_pid == pid, "siginfo");
  check(ptrace(PTRACE_POKEDATA, pid, &secret, (void*)0x5678) == 0, "POKEDATA");
  word = ptrace(PTRACE_PEEKDATA, pid, &secret, NULL);
  printf("after POKEDATA: 0x%lx (mine: 0x%lx)\n", word, secret);
  check(word == 0x5678 && secret == 0x1234, "POKEDATA changes the child only");
  regs.rax = 42;
  check(ptrace(PTRACE_SETREGS, pid, NULL, &regs) == 0, "SETREGS");
}

static void wait_exit(pid_t pid) {
  int status = 0;
  pid_t got = waitpid(pid, &status, 0);
  if (WIFEXITED(status)) printf("child exited with %d\n", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) printf("child killed by %s\n", strsignal(WTERMSIG(status)));
  check(got == pid && (WIFEXITED(status) || WIFSIGNALED(status)), "child's end");
}

int main(void) {
  signal(SIGUSR1, on_usr1);

  pid_t pid = start_child(0);
  inspect_and_change(pid);
  errno = 0;
  long r = ptrace(PTRACE_PEEKDATA, getpid(), &secret, NULL);
  printf("PEEKDATA of myself: %ld, %s\n", r, strerror(errno));
  check(r == -1 && errno == ESRCH, "no tracee: ESRCH");
  check(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0, "CONT");
  wait_exit(pid);

  pid = start_child(1);
  inspect_and_change(pid);
  check(ptrace(PTRACE_CONT, pid, NULL, (void*)SIGUSR1) == 0, "CONT with SIGUSR1");
  wait_exit(pid);

  pid = start_child(0);
  check(ptrace(PTRACE_KILL, pid, NULL, NULL) == 0, "KILL");
  wait_exit(pid);
  return wrong;
}
