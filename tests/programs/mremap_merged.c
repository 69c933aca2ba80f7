// mremap_merged: maps a file, maps its first page again over the start
// (MAP_FIXED), which the kernel merges back into one mapping (same open
// file, adjacent offsets), then grows and shrinks the whole range with
// mremap: that works only on a single mapping. Replay must map the file
// through one open file too.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IOLBF, 0);
  long page = sysconf(_SC_PAGESIZE);
  int fd = open(argv[0], O_RDONLY);  // this program's own file
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return 1;
  size_t length = ((size_t)st.st_size + page - 1) / page * page;
  char* start = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
  if (start == MAP_FAILED) return 1;
  if (mmap(start, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) != start) return 1;
  char* grown = mremap(start, length, length + 2 * page, MREMAP_MAYMOVE);
  printf("grow: %s\n", grown == MAP_FAILED ? strerrorname_np(errno) : "ok");
  if (grown == MAP_FAILED) return 1;
  printf("first bytes: %.3s\n", grown + 1);  // "ELF"
  char* shrunk = mremap(grown, length + 2 * page, page, 0);
  printf("shrink: %s\n", shrunk == MAP_FAILED ? strerrorname_np(errno) : "ok");
  return 0;
}
