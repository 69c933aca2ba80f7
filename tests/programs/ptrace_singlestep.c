// ptrace_singlestep: a debugger's breakpoint-and-step loop. The child
// (PTRACE_TRACEME) stops itself; the parent plants an int3 at the start of
// a computing function (POKETEXT), continues to it, puts the byte back,
// moves the pc back over the int3 (SETREGSET, NT_PRSTATUS) and single-steps through the
// function, printing where each step stopped (as offsets into it), then
// lets the child finish. Each step's SIGTRAP comes back with TRAP_TRACE.
// It also asks for the child's fs base (PTRACE_ARCH_PRCTL).
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <elf.h>
#include <signal.h>
#include <sys/uio.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) long work(long n) {
  long sum = 0;
  for (long i = 0; i < n; i++) sum += i * 3;
  return sum;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    long r = work(4);
    printf("child: work(4) = %ld\n", r);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  uint64_t at = (uint64_t)&work;
  long original = ptrace(PTRACE_PEEKTEXT, pid, (void*)at, NULL);
  ptrace(PTRACE_POKETEXT, pid, (void*)at, (void*)((original & ~0xffL) | 0xcc));
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  waitpid(pid, &status, 0);
  struct user_regs_struct regs;
  ptrace(PTRACE_GETREGS, pid, NULL, &regs);
  unsigned long fs_base = 0;
  ptrace(PTRACE_ARCH_PRCTL, pid, &fs_base, (void*)ARCH_GET_FS);
  printf("fs base from ARCH_PRCTL agrees with GETREGS: %s\n",
         fs_base == regs.fs_base ? "yes" : "no");
  printf("breakpoint: %s, pc after the int3 %s\n",
         WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP ? "hit" : "missed",
         regs.rip == at + 1 ? "right" : "wrong");
  ptrace(PTRACE_POKETEXT, pid, (void*)at, (void*)original);
  regs.rip = at;
  struct iovec general = {&regs, sizeof regs};
  long set = ptrace(PTRACE_SETREGSET, pid, (void*)NT_PRSTATUS, &general);
  printf("pc moved back: %s\n", set == 0 ? "yes" : "no");
  for (int step = 0; step < 12; step++) {
    ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
    waitpid(pid, &status, 0);
    siginfo_t info;
    ptrace(PTRACE_GETSIGINFO, pid, NULL, &info);
    ptrace(PTRACE_GETREGS, pid, NULL, &regs);
    printf("step %d: %s, trace trap %s, at work+%lld\n", step,
           WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP ? "SIGTRAP" : "other",
           info.si_code == 2 /* TRAP_TRACE */ ? "yes" : "no", (long long)(regs.rip - at));
  }
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  waitpid(pid, &status, 0);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
