// old_ioctls: old-style ioctl requests (no _IOC direction or size) that
// rrx's table does not name, each on a file that does not implement it, as
// programs do when probing for a device: a console query on /dev/null, a
// bridge query and an unknown request on a pipe. Each fails
// natively; each is recorded with its failure and replayed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void probe(const char* what, int fd, unsigned long request, void* arg) {
  errno = 0;
  int r = ioctl(fd, request, arg);
  printf("%s: %d (%s)\n", what, r, r < 0 ? strerror(errno) : "ok");
}

int main(void) {
  int null = open("/dev/null", O_RDWR);
  int pipes[2];
  if (null < 0 || pipe(pipes) != 0) return 1;
  int vt = 0;
  unsigned long bridge_args[3] = {1 /* BRCTL_GET_BRIDGES */, 0, 0};
  probe("VT_OPENQRY on /dev/null", null, 0x5600, &vt);
  probe("SIOCGIFBR on a pipe", pipes[1], 0x8940, bridge_args);
  probe("0x7301 on a pipe", pipes[0], 0x7301, NULL);
  return 0;
}
