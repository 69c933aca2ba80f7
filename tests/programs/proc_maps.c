// proc_maps: prints /proc/self/maps as read. The replayed process must see
// the recorded address space layout (or at least the recorded bytes).
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

int main(void) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) != n) return 1;
  close(fd);
  return n < 0;
}
