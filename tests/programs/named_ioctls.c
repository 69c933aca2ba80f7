// named_ioctls: old-style ioctl requests (no _IOC size encoding) that rrx
// knows by name: terminal input injection and locked termios on a pty,
// network bridge queries, virtual-console queries. Each prints what the
// kernel wrote, or the error it gave (no bridge module, no console): the
// replay must show the same.
#define _GNU_SOURCE
#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/sockios.h>
#include <linux/vt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int grantpt(int fd);
int unlockpt(int fd);
char* ptsname(int fd);

static void report(const char* what, long r) {
  if (r < 0)
    printf("%s: %s\n", what, strerrorname_np(errno));
  else
    printf("%s: %ld\n", what, r);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
  if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    struct termios locked;
    memset(&locked, 0xa5, sizeof locked);
    report("TIOCGLCKTRMIOS", ioctl(slave, TIOCGLCKTRMIOS, &locked));
    printf("locked c_cflag 0x%x\n", locked.c_cflag);
    // A line, byte by byte: the slave is in canonical mode.
    const char line[] = "q\n";
    long r = 0;
    for (int i = 0; i < 2 && r == 0; i++) r = ioctl(slave, TIOCSTI, &line[i]);
    report("TIOCSTI", r);
    if (r == 0) {
      char got[4] = {0};
      report("read back", read(slave, got, sizeof got - 1));
      printf("got '%c'\n", got[0]);
    }
  } else {
    printf("no pty: %s\n", strerrorname_np(errno));
  }

  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  unsigned long version[3] = {BRCTL_GET_VERSION, 0, 0};
  report("SIOCGIFBR version", ioctl(sock, SIOCGIFBR, version));
  int bridges[8];
  memset(bridges, 0x5a, sizeof bridges);
  unsigned long list[3] = {BRCTL_GET_BRIDGES, (unsigned long)bridges, 8};
  report("SIOCGIFBR bridges", ioctl(sock, SIOCGIFBR, list));
  printf("first bridge slot %d\n", bridges[0]);

  int console = open("/dev/tty0", O_RDONLY | O_NOCTTY);
  if (console >= 0) {
    int free_vt = -1;
    report("VT_OPENQRY", ioctl(console, VT_OPENQRY, &free_vt));
    printf("first free console %d\n", free_vt);
  } else {
    printf("no console: %s\n", strerrorname_np(errno));
  }
  return 0;
}
