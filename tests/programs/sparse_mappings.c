// sparse_mappings: gigabytes of address space backed by almost nothing: a
// 1 GiB memfd and a 1 GiB file grown by ftruncate, each with a few bytes
// written, mapped shared and private; a 16 GiB anonymous reservation with
// three pages touched. The trace must stay as small as what was written.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GIB (1UL << 30)

int main(void) {
  int memfd = memfd_create("sparse", 0);
  if (memfd < 0 || ftruncate(memfd, GIB) != 0) return 1;
  pwrite(memfd, "memfd middle", 12, GIB / 2);
  char* shared = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (shared == MAP_FAILED) return 1;
  strcpy(shared + GIB - 16, "memfd end");
  char* private_view = mmap(NULL, GIB, PROT_READ, MAP_PRIVATE, memfd, 0);
  printf("%s / %s / %s\n", shared + GIB / 2, shared + GIB - 16, private_view + GIB - 16);

  char path[] = "sparse-XXXXXX";
  int file = mkstemp(path);
  if (file < 0 || ftruncate(file, GIB) != 0) return 1;
  unlink(path);
  pwrite(file, "file tail", 10, GIB - 10);
  char* mapped = mmap(NULL, GIB, PROT_READ, MAP_PRIVATE, file, 0);
  printf("%s, first byte %d\n", mapped + GIB - 10, mapped[0]);

  size_t huge = 16 * GIB;
  char* reserved = mmap(NULL, huge, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return 1;
  reserved[0] = 1, reserved[huge / 2] = 2, reserved[huge - 1] = 3;
  printf("reserved: %d %d %d\n", reserved[0], reserved[huge / 2], reserved[huge - 1]);
  return 0;
}
