// prctl_views: what prctl tells a program about itself must be what it
// would be without rrx, though rrx makes rdtsc trap (PR_GET_TSC says
// PR_TSC_ENABLE until the program sets another mode) and filters syscalls
// when buffering (PR_GET_SECCOMP says 0). The mode the program sets is
// what it reads back, also in a forked child; rdtsc keeps working after
// it turns "enable" on again. PR_SET_MM_MAP_SIZE's answer comes through
// memory.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

static int tsc_mode(void) {
  int mode = -1;
  if (prctl(PR_GET_TSC, &mode, 0, 0, 0) != 0) return -1;
  return mode;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("seccomp mode %d, tsc mode %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), tsc_mode());
  int r = prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
  printf("set sigsegv: %d, now %d\n", r, tsc_mode());
  pid_t child = fork();
  if (child == 0) {
    printf("child inherits tsc mode %d\n", tsc_mode());
    _exit(0);
  }
  waitpid(child, NULL, 0);
  r = prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0);
  printf("set enable: %d, now %d\n", r, tsc_mode());
  printf("set bad mode: %d\n", prctl(PR_SET_TSC, 7, 0, 0, 0));
  uint64_t a = __rdtsc(), b = __rdtsc();
  printf("rdtsc after enable: %s\n", b >= a ? "counts up" : "went back");
  unsigned size = 0;
  r = prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0);
  printf("mm map size: %d, %s\n", r, size > 0 ? "set" : "not set");
  return 0;
}
