// mapped_file_shrinks: a file mapped shared is shrunk by ftruncate: its
// pages past the new end raise SIGBUS when touched (the handler jumps
// out), the page still inside keeps its bytes; grown again, the lost page
// reads zeros.
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf escape;
static void on_bus(int sig) {
  (void)sig;
  siglongjmp(escape, 1);
}

static void touch(const char* what, volatile char* p) {
  if (sigsetjmp(escape, 1) == 0) {
    printf("%s: byte %d\n", what, p[0]);
  } else {
    printf("%s: SIGBUS\n", what);
  }
}

int main(void) {
  signal(SIGBUS, on_bus);
  char path[] = "shrink-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || ftruncate(fd, 3 * 4096) != 0) return 1;
  unlink(path);
  char* p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  memset(p, 7, 3 * 4096);
  if (ftruncate(fd, 4096) != 0) return 1;
  touch("first page after the shrink", p);
  touch("third page after the shrink", p + 8192);
  if (ftruncate(fd, 3 * 4096) != 0) return 1;
  touch("third page grown again", p + 8192);
  return 0;
}
