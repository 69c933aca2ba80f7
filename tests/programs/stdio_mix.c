// stdio_mix: interleaved, unbuffered writes to stdout and stderr, including
// binary bytes and a final line without a newline. The replay must re-emit
// every byte on the same stream.
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

static void put(int fd, const char* s) {
  size_t n = strlen(s);
  if (write(fd, s, n) != (ssize_t)n) _exit(1);
}

int main(void) {
  put(1, "out 1\n");
  put(2, "err 1\n");
  put(1, "out 2\n");
  put(2, "err 2\n");
  // Every byte value once, on stdout, then every byte value on stderr.
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  if (write(1, all, sizeof all) != sizeof all) return 1;
  if (write(2, all, sizeof all) != sizeof all) return 1;
  put(1, "\nno trailing newline on stdout");
  put(2, "\nno trailing newline on stderr");
  return 0;
}
