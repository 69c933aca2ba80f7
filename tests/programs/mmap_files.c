// mmap_files: memory that changes without a write(2): a MAP_SHARED file
// mapping written through memory (msync, read back with pread), a
// MAP_PRIVATE file mapping (copy-on-write, file unchanged), mremap growing
// anonymous memory, mprotect, madvise(MADV_DONTNEED) zeroing and brk growth.
// Checksums and addresses are printed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t fnv(const void* p, size_t n) {
  const unsigned char* b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

int main(void) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t size = 4 * page;
  const char* tmp = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/rrx-mmap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0 || ftruncate(fd, (off_t)size) != 0) { perror("file"); return 1; }
  unlink(path);

  // Shared file mapping: stores reach the file.
  unsigned char* shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shared == MAP_FAILED) { perror("mmap shared"); return 1; }
  for (size_t i = 0; i < size; i++) shared[i] = (unsigned char)(i * 7 + 3);
  if (msync(shared, size, MS_SYNC) != 0) { perror("msync"); return 1; }
  unsigned char* back = malloc(size);
  if (pread(fd, back, size, 0) != (ssize_t)size) return 1;
  printf("shared at %p: memory %016llx file %016llx %s\n", (void*)shared,
         (unsigned long long)fnv(shared, size), (unsigned long long)fnv(back, size),
         memcmp(shared, back, size) == 0 ? "equal" : "DIFFERENT");

  // Private file mapping: sees the file, stores stay private.
  unsigned char* priv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (priv == MAP_FAILED) { perror("mmap private"); return 1; }
  printf("private at %p: initial %016llx\n", (void*)priv,
         (unsigned long long)fnv(priv, size));
  memset(priv + page, 0xAB, page);
  if (pread(fd, back, size, 0) != (ssize_t)size) return 1;
  printf("private after store %016llx, file still %016llx\n",
         (unsigned long long)fnv(priv, size), (unsigned long long)fnv(back, size));
  // A write to the file is visible through the untouched private pages.
  unsigned char marker[16];
  memset(marker, 0x5A, sizeof marker);
  if (pwrite(fd, marker, sizeof marker, 0) != sizeof marker) return 1;
  printf("private page 0 after pwrite: %02x (shared sees %02x)\n", priv[0], shared[0]);
  munmap(priv, size);
  munmap(shared, size);
  close(fd);

  // mremap: grow anonymous memory, contents preserved.
  unsigned char* anon = mmap(NULL, page, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED) return 1;
  memset(anon, 0x11, page);
  unsigned char* grown = mremap(anon, page, 64 * page, MREMAP_MAYMOVE);
  if (grown == MAP_FAILED) { perror("mremap"); return 1; }
  memset(grown + page, 0x22, 63 * page);
  printf("mremap %p -> %p: %016llx\n", (void*)anon, (void*)grown,
         (unsigned long long)fnv(grown, 64 * page));

  // mprotect: read-only then writable again.
  int r1 = mprotect(grown, page, PROT_READ);
  int r2 = mprotect(grown, page, PROT_READ | PROT_WRITE);
  grown[0] = 0x33;
  printf("mprotect: %d %d, byte %02x\n", r1, r2, grown[0]);

  // madvise(MADV_DONTNEED) on private anonymous memory reads back as zeros.
  int r3 = madvise(grown + 8 * page, 8 * page, MADV_DONTNEED);
  size_t zeros = 0;
  for (size_t i = 0; i < 64 * page; i++) zeros += grown[i] == 0;
  printf("madvise: %d, zero bytes %zu (expected %zu), %016llx\n", r3, zeros,
         8 * page, (unsigned long long)fnv(grown, 64 * page));
  munmap(grown, 64 * page);

  // brk: grow the heap by hand.
  char* before = sbrk(0);
  char* old = sbrk(1 << 20);
  if (old == (void*)-1) { perror("sbrk"); return 1; }
  for (int i = 0; i < (1 << 20); i++) old[i] = (char)(i >> 8);
  char* after = sbrk(0);
  printf("brk %p -> %p (+%ld): %016llx\n", (void*)before, (void*)after,
         (long)(after - before), (unsigned long long)fnv(old, 1 << 20));
  sbrk(-(1 << 20));
  printf("brk back to %p\n", sbrk(0));
  free(back);
  return 0;
}
