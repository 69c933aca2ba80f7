// writable_code: code the program writes before it runs it. Its own
// executable is mapped private, readable, writable and executable (as a
// loader applying text relocations or a patcher would), a byte of the copy
// is changed, the mapping is made read-only and executable, the byte must
// still be the one written, and the copy of a loop-heavy function is
// called. Dynamic ticks must leave a writable mapping alone, and must not
// patch code the program has written from the file's bytes.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Steps of the Collatz sequences of 1..n: branches and nothing else (no
// calls, no rip-relative data), so a copy of it runs anywhere.
__attribute__((noinline)) static long collatz_steps(long n) {
  long steps = 0;
  for (long i = 1; i <= n; i++) {
    for (long x = i; x != 1; steps++) x = (x & 1) ? 3 * x + 1 : x / 2;
  }
  return steps;
}

int main(void) {
  Dl_info info;
  if (!dladdr((void*)collatz_steps, &info) || !info.dli_fbase) { puts("dladdr failed"); return 1; }
  int fd = open("/proc/self/exe", O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) { perror("exe"); return 1; }
  // The text of a gcc PIE lies at the same offset in the file as in memory.
  const uintptr_t offset = (uintptr_t)collatz_steps - (uintptr_t)info.dli_fbase;
  uint8_t* copy = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (copy == MAP_FAILED) { perror("mmap"); return 1; }
  const size_t last = (size_t)st.st_size - 1;
  uint8_t before = copy[last];
  copy[last] = (uint8_t)(before ^ 0x5a);
  printf("wrote the copy: %02x -> %02x\n", before, copy[last]);
  if (mprotect(copy, (size_t)st.st_size, PROT_READ | PROT_EXEC) != 0) { perror("mprotect"); return 1; }
  if (copy[last] != (uint8_t)(before ^ 0x5a)) {
    printf("the write to the copy was lost: %02x\n", copy[last]);
    return 1;
  }
  long (*steps)(long) = (long (*)(long))(void*)(copy + offset);
  printf("collatz steps up to 3000: original %ld, copy %ld\n", collatz_steps(3000), steps(3000));
  return 0;
}
