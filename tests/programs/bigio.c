// bigio: 40 MiB of a pseudo-random pattern written to a temp file, read back
// with one read() and in 64 KiB chunks. Large syscall buffers: the recorder
// must save (and the replay restore) every byte the kernel wrote.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (40u << 20)
#define CHUNK (64u << 10)

static uint64_t fnv(const unsigned char* b, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

int main(void) {
  unsigned char* buf = malloc(SIZE);
  if (!buf) return 1;
  uint64_t x = 0x9E3779B97F4A7C15ull;  // xorshift64, fixed seed
  for (size_t i = 0; i < SIZE; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(buf + i, &x, 8);
  }
  const uint64_t seed = 1469598103934665603ull;
  printf("pattern checksum %016llx\n", (unsigned long long)fnv(buf, SIZE, seed));

  const char* tmp = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/rrx-bigio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  unlink(path);
  for (size_t off = 0; off < SIZE;) {  // one write(), continued if short
    ssize_t n = write(fd, buf + off, SIZE - off);
    if (n <= 0) { perror("write"); return 1; }
    off += (size_t)n;
  }

  memset(buf, 0, SIZE);
  lseek(fd, 0, SEEK_SET);
  size_t got = 0;
  ssize_t n = read(fd, buf, SIZE);  // one big read
  int reads = 1;
  if (n > 0) got = (size_t)n;
  while (n > 0 && got < SIZE) {
    n = read(fd, buf + got, SIZE - got);
    reads++;
    if (n > 0) got += (size_t)n;
  }
  printf("one read: %zu bytes in %d read(s), checksum %016llx\n", got, reads,
         (unsigned long long)fnv(buf, got, seed));

  lseek(fd, 0, SEEK_SET);
  unsigned char* chunk = malloc(CHUNK);
  uint64_t h = seed;
  size_t total = 0;
  int chunks = 0;
  while ((n = read(fd, chunk, CHUNK)) > 0) {
    h = fnv(chunk, (size_t)n, h);
    total += (size_t)n;
    chunks++;
  }
  printf("64 KiB chunks: %zu bytes in %d reads, checksum %016llx\n", total, chunks,
         (unsigned long long)h);
  close(fd);
  free(chunk);
  free(buf);
  return 0;
}
