// ptrace_syscalls: strace's core loop. A child traced with PTRACE_TRACEME
// stops itself; its parent sets PTRACE_O_TRACESYSGOOD and follows it with
// PTRACE_SYSCALL, printing every syscall-entry and -exit stop it sees
// (wait status with the 0x80 bit, the call from GET_SYSCALL_INFO and
// GETREGSET), and changes one result at its exit stop (getuid returns 777
// to the child). The child's calls are ones syscall buffering would
// otherwise run in-process, unseen by a tracer.
#define _GNU_SOURCE
#include <elf.h>
#include <linux/ptrace.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc's <sys/ptrace.h> clashes with <linux/ptrace.h>, which has the
// syscall info struct: call the kernel directly.
static long trace(long request, pid_t pid, unsigned long addr, void* data) {
  return syscall(SYS_ptrace, request, pid, addr, data);
}

static const char* name(long nr) {
  switch (nr) {
    case SYS_getppid: return "getppid";
    case SYS_getuid: return "getuid";
    case SYS_getpid: return "getpid";
    case SYS_write: return "write";
    case SYS_exit_group: return "exit_group";
    default: return "other";
  }
}

static void child(void) {
  syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
  kill(getpid(), SIGSTOP);
  long ppid = getppid();
  long uid = getuid();
  pid_t me = getpid();
  char line[128];
  int n = snprintf(line, sizeof line, "child: getppid is my parent: %s, getuid returned %ld, pid ok: %s\n",
                   ppid == getppid() ? "yes" : "no", uid, me > 0 ? "yes" : "no");
  if (write(1, line, n) != n) _exit(2);
  _exit(uid == 777 ? 0 : 1);
}

int main(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) child();
  int status = 0, wrong = 0;
  waitpid(pid, &status, 0);
  printf("stopped by SIGSTOP: %s\n", WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP ? "yes" : "no");
  trace(PTRACE_SETOPTIONS, pid, 0, (void*)PTRACE_O_TRACESYSGOOD);
  int stops = 0;
  for (;;) {
    trace(PTRACE_SYSCALL, pid, 0, 0);
    if (waitpid(pid, &status, 0) != pid) {
      printf("waitpid failed\n");
      return 1;
    }
    if (WIFEXITED(status)) {
      printf("child exited with %d after %d syscall stops\n", WEXITSTATUS(status), stops);
      return wrong || WEXITSTATUS(status) != 0;
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) {
      printf("unexpected status 0x%x\n", status);
      return 1;
    }
    stops++;
    struct ptrace_syscall_info info;
    memset(&info, 0, sizeof info);
    long size = trace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
    struct user_regs_struct regs;
    struct iovec iov = {&regs, sizeof regs};
    trace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov);
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
      printf("entry %s (info %s)\n", name(info.entry.nr), size > 0 && (long)regs.orig_rax == (long)info.entry.nr ? "agrees" : "differs");
      wrong |= (long)regs.orig_rax != (long)info.entry.nr;
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
      printf("exit %s, result %s\n", name(regs.orig_rax), info.exit.rval == (long)regs.rax ? "agrees" : "differs");
      wrong |= info.exit.rval != (long)regs.rax;
      if (regs.orig_rax == SYS_getuid) {
        regs.rax = 777;
        iov.iov_len = sizeof regs;
        trace(PTRACE_SETREGS, pid, 0, &regs);
      }
    } else {
      printf("stop of op %d\n", info.op);
      wrong = 1;
    }
    fflush(stdout);
  }
}
