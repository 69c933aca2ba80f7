// mapped_file_writes: write-like syscalls into a file the program has
// mapped, read back through the mappings: a private read-only mapping (its
// untouched pages show the file), a shared read-only one (replay cannot
// poke it through ptrace), a shared writable one, and the shared ones
// inherited by a child that writes the file itself. Every way of writing:
// write, writev, pwrite, pwritev, pwritev2 at the file position, O_APPEND
// and copy_file_range. What each mapping shows is printed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* tmp_file(char* path, size_t n, const char* tag) {
  const char* tmp = getenv("TMPDIR");
  snprintf(path, n, "%s/rrx-mfw-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
  return path;
}

// The first `n` bytes of each mapping, as text.
static void show(const char* what, const char* priv, const char* shared_ro,
                 const char* shared_rw, size_t n) {
  printf("%-22s private '%.*s' shared-ro '%.*s' shared-rw '%.*s'\n", what, (int)n, priv,
         (int)n, shared_ro, (int)n, shared_rw);
}

int main(void) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char path[4096];
  int fd = mkstemp((char*)tmp_file(path, sizeof path, "main"));
  if (fd < 0 || ftruncate(fd, (off_t)(2 * page)) != 0) { perror("file"); return 1; }
  unlink(path);
  if (pwrite(fd, "................................", 32, 0) != 32) return 1;
  char* priv = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
  char* shared_ro = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
  char* shared_rw = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (priv == MAP_FAILED || shared_ro == MAP_FAILED || shared_rw == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  show("mapped", priv, shared_ro, shared_rw, 32);

  if (write(fd, "write", 5) != 5) return 1;
  show("write at 0", priv, shared_ro, shared_rw, 32);
  struct iovec iov[2] = {{"wri", 3}, {"tev", 3}};
  if (writev(fd, iov, 2) != 6) return 1;
  show("writev at 5", priv, shared_ro, shared_rw, 32);
  if (pwrite(fd, "pwrite", 6, 12) != 6) return 1;
  show("pwrite at 12", priv, shared_ro, shared_rw, 32);
  struct iovec pv[1] = {{"pwritev", 7}};
  if (pwritev(fd, pv, 1, 20) != 7) return 1;
  show("pwritev at 20", priv, shared_ro, shared_rw, 32);
  struct iovec pv2[1] = {{"v2", 2}};
  if (pwritev2(fd, pv2, 1, -1, 0) != 2) return 1;  // at the position: 11
  show("pwritev2 at pos 11", priv, shared_ro, shared_rw, 32);
  // Into the second page, past what the program has read so far.
  if (pwrite(fd, "second page", 11, (off_t)page) != 11) return 1;
  printf("second page: private '%.11s' shared-ro '%.11s'\n", priv + page, shared_ro + page);

  // O_APPEND onto a file that is mapped past its end.
  int afd = mkstemp((char*)tmp_file(path, sizeof path, "append"));
  if (afd < 0 || write(afd, "head:", 5) != 5) return 1;
  char* amap = mmap(NULL, page, PROT_READ, MAP_SHARED, afd, 0);
  int app = open(path, O_WRONLY | O_APPEND);
  unlink(path);
  if (amap == MAP_FAILED || app < 0 || write(app, "appended", 8) != 8) return 1;
  printf("O_APPEND: '%.13s'\n", amap);

  // copy_file_range from another file into the mapped one.
  int src = mkstemp((char*)tmp_file(path, sizeof path, "src"));
  unlink(path);
  if (src < 0 || pwrite(src, "COPIED", 6, 0) != 6) return 1;
  loff_t in = 0, out = 26;
  if (copy_file_range(src, &in, fd, &out, 6, 0) != 6) return 1;
  show("copy_file_range at 26", priv, shared_ro, shared_rw, 32);

  // A child writes the file; the parent's shared mappings see it.
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (pwrite(fd, "CHILD", 5, 0) != 5) _exit(1);
    show("child wrote at 0", priv, shared_ro, shared_rw, 32);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  // (Not the parent's private mapping: replay does not carry a write into
  // another process's private pages; see docs/architecture.md.)
  printf("parent after child     shared-ro '%.32s' shared-rw '%.32s'\n", shared_ro, shared_rw);

  // Stores through the writable mapping reach the file and the others.
  memcpy(shared_rw + 6, "STORE", 5);
  char back[32];
  if (pread(fd, back, 32, 0) != 32) return 1;
  printf("store at 6             shared-ro '%.32s' shared-rw '%.32s'\n", shared_ro, shared_rw);
  printf("file: '%.32s'\n", back);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
