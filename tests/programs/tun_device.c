// tun_device: a TAP interface made in a network namespace of its own.
// TUNSETIFF writes the name the kernel chose back into the request, and
// TUNGETIFF a whole struct ifreq, though their encodings say an int: the
// recording must keep those bytes. Prints the name and flags it got back.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
  if (unshare(CLONE_NEWNET) != 0) {
    printf("no network namespace here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  int fd = open("/dev/net/tun", O_RDWR);
  if (fd < 0) {
    printf("no /dev/net/tun here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  unsigned features = 0;
  if (ioctl(fd, TUNGETFEATURES, &features) != 0) return 1;
  printf("TAP supported: %s\n", features & IFF_TAP ? "yes" : "no");
  struct ifreq req;
  memset(&req, 0, sizeof req);
  req.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &req) != 0) {
    printf("TUNSETIFF failed: %s\n", strerror(errno));
    return 1;
  }
  printf("made %s\n", req.ifr_name);
  struct ifreq got;
  memset(&got, 0xaa, sizeof got);
  if (ioctl(fd, TUNGETIFF, &got) != 0) return 1;
  printf("TUNGETIFF: %s, flags %#x\n", got.ifr_name, got.ifr_flags & 0xffff);
  int sndbuf = 0;
  if (ioctl(fd, TUNGETSNDBUF, &sndbuf) != 0) return 1;
  printf("send buffer set: %s\n", sndbuf > 0 ? "yes" : "no");
  return 0;
}
