// unsupported: calls modify_ldt, which rrx does not support (a local
// descriptor table changes what instructions do). `rrx record` must stop
// with one "rrx:" line naming modify_ldt and a non-zero exit. Natively it
// reads the (empty) table and exits 0.
// With "ioctl": makes an old-style ioctl rrx does not know and that
// succeeds (a bridge query, SIOCGIFBR, on a socket): recording must stop
// naming it (rrx cannot tell what it changed).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "ioctl") == 0) {
    unsigned long get_bridges[3] = {1, 0, 0};
    int r = ioctl(socket(AF_INET, SOCK_DGRAM, 0), 0x8940, get_bridges);
    printf("ioctl returned %d\n", r);
    return 0;
  }
  printf("calling modify_ldt\n");
  fflush(stdout);
  char table[64];
  long r = syscall(SYS_modify_ldt, 0, table, sizeof table);
  printf("modify_ldt returned %ld\n", r);
  return 0;
}
