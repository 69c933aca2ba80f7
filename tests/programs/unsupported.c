// unsupported: makes a call rrx does not support, which `rrx record` must
// refuse with one "rrx:" line naming it and a non-zero exit. Without
// arguments: pkey_mprotect (with no key, as mprotect; rrx refuses the call
// because memory protection keys change what loads and stores do). With
// "ioctl": an old-style ioctl rrx does not know and that succeeds
// (SIOCGIFTXQLEN, the loopback device's queue length): rrx cannot tell
// what it changed. With "ptrace": PTRACE_SYSEMU of a traced child (a
// ptrace request the recorder does not emulate). With "int80": getpid
// through `int $0x80`, the 32-bit system call table (20 there, not 39).
// Natively all work and it exits 0.
#define _GNU_SOURCE
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int sysemu_a_child(void) {
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
  long r = ptrace(PTRACE_SYSEMU, pid, NULL, NULL);
  printf("sysemu returned %ld\n", r);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return 0;
}

static int query_queue_length(void) {
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strcpy(request.ifr_name, "lo");
  int r = ioctl(socket(AF_INET, SOCK_DGRAM, 0), 0x8942 /* SIOCGIFTXQLEN */, &request);
  printf("ioctl returned %d\n", r);
  return 0;
}

static int compat_getpid(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
  printf("int $0x80 getpid returned %s\n", r == getpid() ? "the pid" : "something else");
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "ptrace") == 0) return sysemu_a_child();
  if (argc > 1 && strcmp(argv[1], "int80") == 0) return compat_getpid();
  if (argc > 1 && strcmp(argv[1], "ioctl") == 0) return query_queue_length();
  printf("calling pkey_mprotect\n");
  fflush(stdout);
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  long r = syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, -1);
  printf("pkey_mprotect returned %ld\n", r);
  return 0;
}
