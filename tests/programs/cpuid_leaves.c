// cpuid_leaves: asks cpuid for leaves 0-7, subleaves 0-2 (24 calls) and
// prints a checksum of the answers; then a forked child execs the same
// program with "--child", which does the same. Under a buffered recording
// the child's calls are answered by the engine from the answers its parent's
// trapped calls gave (tests/e2e/cpuid_answers.sh): both lines must agree.
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned checksum(void) {
  unsigned sum = 0;
  for (unsigned subleaf = 0; subleaf < 3; subleaf++) {
    for (unsigned leaf = 0; leaf < 8; leaf++) {
      unsigned a, b, c, d;
      __cpuid_count(leaf, subleaf, a, b, c, d);
      if (leaf == 1) b &= 0x00ffffff;  // the initial APIC id: the CPU it ran on
      sum = sum * 31 + a + b * 3 + c * 5 + d * 7;
    }
  }
  return sum;
}

int main(int argc, char** argv) {
  int child = argc > 1 && strcmp(argv[1], "--child") == 0;
  printf("%s cpuid checksum %08x\n", child ? "child" : "parent", checksum());
  fflush(stdout);
  if (child) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", "cpuid_leaves", "--child", (char*)NULL);
    _exit(127);
  }
  int status;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
