// buffered_calls: the syscalls rrx buffers in-process, under pressure.
// Two threads each make tens of thousands of pread/fstat/lseek/getpid/
// clock_gettime calls on a temp file (more records than one buffer holds,
// so buffers fill and flush), plus reads too big to buffer, while
// so a 1 ms interval timer interrupts them; the SIGALRM handler itself writes to the
// file (a buffered call interrupting the program). Prints the number of
// signals handled, the clock readings' sum and the bytes read: all
// run-dependent, all replayed exactly.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int fd;
static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
  char mark = 'a';
  if (pwrite(fd, &mark, 1, 0) != 1) _exit(3);
}

struct result {
  uint64_t clock_sum, bytes, pids;
};

static void* work(void* arg) {
  struct result* r = arg;
  char buf[512];
  for (int i = 0; i < 20000; ++i) {
    ssize_t n = pread(fd, buf, sizeof buf, (i * 37) % 4096);
    if (n < 0) _exit(4);
    r->bytes += (uint64_t)n + (unsigned char)buf[0];
    struct stat st;
    if (fstat(fd, &st) != 0) _exit(5);
    lseek(fd, i % 100, SEEK_SET);
    r->pids += (uint64_t)getpid();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->clock_sum += (uint64_t)ts.tv_nsec;
  }
  return NULL;
}

int main(void) {
  const char* tmp = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/rrx-buffered-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  static char block[2 << 20];
  for (size_t i = 0; i < sizeof block; ++i) block[i] = (char)(i * 7);
  if (write(fd, block, sizeof block) != (ssize_t)sizeof block) return 2;

  signal(SIGALRM, on_alarm);
  struct itimerval every = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &every, NULL);

  struct result main_r = {0}, other_r = {0};
  pthread_t other;
  pthread_create(&other, NULL, work, &other_r);
  work(&main_r);
  pthread_join(other, NULL);
  // A read bigger than a syscall buffer: never buffered.
  ssize_t big = pread(fd, block, sizeof block, 0);

  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("alarms %d\n", (int)alarms);
  printf("clock sums %llu %llu\n", (unsigned long long)main_r.clock_sum,
         (unsigned long long)other_r.clock_sum);
  printf("bytes %llu %llu big %zd\n", (unsigned long long)main_r.bytes,
         (unsigned long long)other_r.bytes, big);
  printf("pids equal %d\n", main_r.pids == other_r.pids);
  return 0;
}
