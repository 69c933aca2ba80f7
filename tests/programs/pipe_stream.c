// pipe_stream: a writer and a reader process on one pipe, with writes
// larger than the pipe holds (100 KiB into 64 KiB: rrx buffers what fits
// without waiting and writes the rest with a traced, blocking write) and
// small ones, and reads of odd sizes that sometimes find the pipe empty.
// Every write must report all its bytes written, as a blocking write to a
// pipe does; the reader prints the byte count and a hash of the stream.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kBig = 100 << 10, kRounds = 40 };

static void writer(int fd) {
  static unsigned char block[kBig];
  for (int round = 0; round < kRounds; ++round) {
    size_t n = round % 3 == 0 ? kBig : (size_t)(round * 997) % 5000 + 1;
    for (size_t i = 0; i < n; ++i) block[i] = (unsigned char)(i * 31 + round);
    ssize_t done = write(fd, block, n);
    if (done != (ssize_t)n) {
      fprintf(stderr, "round %d: wrote %zd of %zu\n", round, done, n);
      exit(2);
    }
  }
  close(fd);
}

static void reader(int fd) {
  unsigned char buf[3001];
  uint64_t hash = 1469598103934665603ull, total = 0;
  long reads = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) hash = (hash ^ buf[i]) * 1099511628211ull;
    total += (uint64_t)n;
    ++reads;
  }
  // How the stream was cut into reads depends on scheduling: replay must
  // cut it the same way.
  printf("read %llu bytes in %ld reads, hash %016llx\n", (unsigned long long)total, reads,
         (unsigned long long)hash);
  fflush(stdout);
}

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    reader(p[0]);
    _exit(0);
  }
  close(p[0]);
  writer(p[1]);
  int status;
  waitpid(pid, &status, 0);
  printf("writer done, reader status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
