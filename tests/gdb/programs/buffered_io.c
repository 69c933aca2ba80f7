/* gdb end-to-end debuggee: file I/O that syscall buffering takes
   in-process (write, lseek and read on a regular file), so the debugger
   meets libc's patched syscall sites and must see only libc's code. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  char path[] = "/tmp/rrx-buffered-io-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  long total = 0;
  for (int i = 0; i < 5; ++i) total += write(fd, "0123456789", 10); /* LINE_WRITE */
  lseek(fd, 0, SEEK_SET);
  char buf[64];
  long got = read(fd, buf, sizeof buf);
  close(fd);
  printf("wrote %ld read %ld\n", total, got);
  return 0;
}
