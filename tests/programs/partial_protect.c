// partial_protect: mprotect and madvise that fail part way through their
// range, having changed the pages before the failure: an mprotect over a
// hole (ENOMEM) leaves the page before it writable, a MADV_DONTNEED that
// meets a locked page (EINVAL) has zeroed the pages before it. The program
// then relies on those changes, as replay must reproduce them.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  long page = sysconf(_SC_PAGESIZE);
  char* base = mmap(NULL, 3 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 1;
  munmap(base + page, page);  // a hole in the middle
  int r = mprotect(base, 3 * page, PROT_READ | PROT_WRITE);
  printf("mprotect over a hole: %d (%s)\n", r, r ? strerrorname_np(errno) : "no error");
  base[0] = 'w';  // only works if the first page was changed
  printf("first page now writable: %c\n", base[0]);

  char* two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (two == MAP_FAILED) return 1;
  two[0] = 'a';
  two[page] = 'b';
  if (mlock(two + page, page) != 0) {
    printf("mlock: %s\n", strerrorname_np(errno));
    return 0;
  }
  r = madvise(two, 2 * page, MADV_DONTNEED);
  printf("madvise over a locked page: %d (%s)\n", r, r ? strerrorname_np(errno) : "no error");
  printf("first page %s, locked page keeps '%c'\n", two[0] == 0 ? "zeroed" : "kept", two[page]);
  return 0;
}
