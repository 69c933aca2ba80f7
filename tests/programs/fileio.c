// fileio: plain file syscalls in a fresh temp dir: open/write/lseek/read,
// fstat (inode and mtime are run-dependent and printed), getdents through
// readdir (names printed sorted), unlink and rmdir.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int main(void) {
  const char* tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/rrx-fileio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }

  static const char* names[] = {"zeta", "alpha", "data.txt", "mid"};
  char path[4200];
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) { perror("open"); return 1; }
    if (i == 2) {
      const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
      if (write(fd, text, sizeof text - 1) != sizeof text - 1) return 1;
      off_t pos = lseek(fd, 10, SEEK_SET);
      char got[7] = {0};
      ssize_t n = read(fd, got, 6);
      printf("lseek -> %lld, read %zd bytes: %s\n", (long long)pos, n, got);
      pos = lseek(fd, -3, SEEK_END);
      n = read(fd, got, 6);
      got[n > 0 ? n : 0] = 0;
      printf("lseek(-3, END) -> %lld, read %zd bytes: %s\n", (long long)pos, n, got);
      struct stat st;
      if (fstat(fd, &st) != 0) return 1;
      printf("fstat: size=%lld ino=%llu mtime=%lld.%09ld mode=%o\n",
             (long long)st.st_size, (unsigned long long)st.st_ino,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
             (unsigned)(st.st_mode & 07777));
    }
    close(fd);
  }

  DIR* d = opendir(dir);
  if (!d) { perror("opendir"); return 1; }
  char* seen[16];
  int count = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && count < 16) seen[count++] = strdup(e->d_name);
  closedir(d);
  qsort(seen, count, sizeof seen[0], cmp);
  printf("readdir (%d entries):", count);
  for (int i = 0; i < count; i++) printf(" %s", seen[i]);
  printf("\n");

  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (unlink(path) != 0) { perror("unlink"); return 1; }
  }
  int again = unlink(path);
  printf("unlink again: %d (%s)\n", again, again == 0 ? "succeeded?!" : strerrorname_np(errno));
  if (rmdir(dir) != 0) { perror("rmdir"); return 1; }
  printf("done\n");
  return 0;
}
