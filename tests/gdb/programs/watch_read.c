/* A global filled by a buffered read (8 bytes "ABCDEFGH" from a file: the
   buffering engine copies them in, in replay, byte by byte), then changed
   by the program. A watchpoint on it must see the read once, where the
   syscall ends, as it sees the kernel's writes of a traced syscall. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long word;

int main(void) {
  char path[] = "/tmp/rrx-watch-read-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  if (write(fd, "ABCDEFGH", 8) != 8) return 1;
  lseek(fd, 0, SEEK_SET);
  if (read(fd, &word, sizeof word) != sizeof word) return 1; /* LINE_READ */
  close(fd);
  word += 1; /* LINE_BUMP */
  printf("%lx\n", word); /* LINE_PRINT */
  return 0;
}
