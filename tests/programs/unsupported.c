// unsupported: calls shmget, which rrx does not support (System V shared
// memory changes memory behind the recorder's back). `rrx record` must stop
// with one "rrx:" line naming shmget and a non-zero exit. Natively it
// creates and removes a segment and exits 0.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  printf("calling shmget\n");
  fflush(stdout);
  long id = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (id >= 0) shmctl((int)id, IPC_RMID, NULL);
  printf("shmget returned %s\n", id >= 0 ? "an id" : "an error");
  return 0;
}
