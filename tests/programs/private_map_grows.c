// private_map_grows: a private mapping of an empty file, which then grows
// under it (ftruncate, and a write past its end): the pages past the old
// end become valid, and the program writes and reads them. Replay maps its
// own copy of the file as it was, which does not grow.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  long page = sysconf(_SC_PAGESIZE);
  char name[] = "/tmp/rrx-private-grows-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0) return 1;
  unlink(name);
  char* p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 1;
  ftruncate(fd, page);
  p[0] = 'x';
  printf("first page after ftruncate: '%c'\n", p[0]);
  char line[] = "grown by write";
  pwrite(fd, line, sizeof line, page);
  printf("second page after a write past the end: \"%s\"\n", p + page);
  return 0;
}
