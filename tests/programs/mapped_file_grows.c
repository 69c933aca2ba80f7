// mapped_file_grows: a file mapped shared for three pages while it holds a
// few bytes (touching past its end would be SIGBUS) grows under the
// mapping, by a pwrite past its end and by ftruncate; the pages that
// became valid are read through the mapping and written, and what they
// show is printed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  const long page = sysconf(_SC_PAGESIZE);
  const char* tmp = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/rrx-grow-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  if (write(fd, "head", 4) != 4) return 1;
  char* m = mmap(NULL, (size_t)(3 * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return 1;
  printf("mapped: '%.4s'\n", m);
  if (pwrite(fd, "grown", 5, page + 100) != 5) return 1;  // the second page exists now
  printf("after pwrite past the end: '%.5s', byte before it %d\n", m + page + 100, m[page + 99]);
  if (ftruncate(fd, 3 * page) != 0) return 1;             // and the third
  m[2 * page + 10] = 'Z';
  printf("after ftruncate: %d '%c'\n", m[3 * page - 1], m[2 * page + 10]);
  char back;
  if (pread(fd, &back, 1, 2 * page + 10) != 1) return 1;
  printf("the file has '%c' there\n", back);
  return 0;
}
