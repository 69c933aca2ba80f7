// nondet: every common source of nondeterminism a single thread can reach
// without a syscall the recorder could see coming: getrandom, /dev/urandom,
// clock_gettime (vDSO), gettimeofday (vDSO), time (vDSO), rdtsc, rdtscp and
// cpuid. All values are printed; a faithful replay prints the same ones.
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void hex(const char* label, const unsigned char* p, size_t n) {
  printf("%s:", label);
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static uint64_t rdtscp(uint32_t* aux) {
  uint32_t lo, hi;
  __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
  return ((uint64_t)hi << 32) | lo;
}

int main(void) {
  unsigned char buf[16];

  if (getrandom(buf, sizeof buf, 0) != sizeof buf) return 1;
  hex("getrandom", buf, sizeof buf);

  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, sizeof buf) != sizeof buf) return 1;
  close(fd);
  hex("urandom", buf, sizeof buf);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  printf("realtime: %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("monotonic: %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("gettimeofday: %lld.%06ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
  printf("time: %lld\n", (long long)time(NULL));

  uint64_t t1 = rdtsc();
  uint32_t aux = 0;
  uint64_t t2 = rdtscp(&aux);
  printf("rdtsc: %llu\n", (unsigned long long)t1);
  printf("rdtscp: %llu aux=%u\n", (unsigned long long)t2, aux);

  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  char vendor[13];
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  printf("cpuid(0): max_leaf=%u vendor=%s\n", a, vendor);
  __cpuid(1, a, b, c, d);
  printf("cpuid(1): eax=%08x ebx=%08x ecx=%08x edx=%08x\n", a, b, c, d);
  return 0;
}
