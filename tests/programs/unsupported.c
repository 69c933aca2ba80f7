// unsupported: calls shmget, which rrx does not support (System V shared
// memory changes memory behind the recorder's back). `rrx record` must stop
// with one "rrx:" line naming shmget and a non-zero exit. Natively it
// creates and removes a segment and exits 0.
// With "ioctl": makes an old-style ioctl rrx does not know and that
// succeeds (a bridge query, SIOCGIFBR, on a socket): recording must stop
// naming it (rrx cannot tell what it changed).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
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
  printf("calling shmget\n");
  fflush(stdout);
  long id = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id >= 0) shmctl((int)id, IPC_RMID, NULL);
  printf("shmget returned %s\n", id >= 0 ? "an id" : "an error");
  return 0;
}
