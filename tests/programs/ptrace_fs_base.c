// ptrace_fs_base: a tracer moves its stopped tracee's fs base
// (PTRACE_ARCH_PRCTL, ARCH_SET_FS) to a block where it wrote a marker
// (POKEDATA), and reads it back; the tracee then reads the base and the
// marker there with raw syscalls, puts its own base back and reports.
// (rrx refuses the move with syscall buffering: recorded with -n.)
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char block[4096] __attribute__((aligned(64)));

// arch_prctl without libc's wrapper (whose errno lives behind fs).
static void raw_arch_prctl(long code, uint64_t arg) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "0"(SYS_arch_prctl), "D"(code), "S"(arg)
                   : "rcx", "r11", "memory");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    uint64_t fs;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    raise(SIGSTOP);
    // The tracer moved fs: no libc (it uses fs) until it is put back.
    uint64_t now = 0;
    raw_arch_prctl(ARCH_GET_FS, (uint64_t)&now);
    char marker[8];
    memcpy(marker, (const char*)(now + 1024), sizeof marker);
    raw_arch_prctl(ARCH_SET_FS, fs);
    printf("child: fs moved into the block: %s, marker '%s'\n",
           now == (uint64_t)block + 2048 ? "yes" : "no", marker);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  uint64_t target = (uint64_t)block + 2048;
  // The control block's head (self pointers, stack guard) goes along: the
  // child's raise() returns under the new base and checks its canary.
  unsigned long old_base = 0;
  ptrace(PTRACE_ARCH_PRCTL, pid, &old_base, (void*)ARCH_GET_FS);
  for (int word = 0; word < 8; word++) {
    long value = ptrace(PTRACE_PEEKDATA, pid, (void*)(old_base + 8 * word), NULL);
    ptrace(PTRACE_POKEDATA, pid, (void*)(target + 8 * word), (void*)value);
  }
  long marker;
  memcpy(&marker, "moved!\0\0", 8);
  ptrace(PTRACE_POKEDATA, pid, (void*)(target + 1024), (void*)marker);
  long r = ptrace(PTRACE_ARCH_PRCTL, pid, (void*)target, (void*)ARCH_SET_FS);
  unsigned long back = 0;
  ptrace(PTRACE_ARCH_PRCTL, pid, &back, (void*)ARCH_GET_FS);
  printf("set: %ld, read back the new base: %s\n", r, back == target ? "yes" : "no");
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  waitpid(pid, &status, 0);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
