// sysv_shm: System V shared memory between recorded processes: a parent
// creates a segment and attaches it; a child it forks writes through the
// inherited attachment, another attaches the segment by id itself and
// writes; the parent reads both, checks IPC_STAT's attach count, detaches,
// attaches read-only and removes the segment. A second segment is filled
// before its first attach, then attached by the parent.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);
  if (id < 0) {
    perror("shmget");
    return 1;
  }
  char* shared = shmat(id, NULL, 0);
  if (shared == (void*)-1) return 1;
  if (fork() == 0) {  // through the attachment fork passed on
    strcpy(shared, "written by the first child");
    _exit(0);
  }
  wait(NULL);
  if (fork() == 0) {  // attaches by id itself
    char* own = shmat(id, NULL, 0);
    strcpy(own + 8192, "written by the second child");
    shmdt(own);
    _exit(0);
  }
  wait(NULL);
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  printf("%s / %s / size %zu, attached %lu time(s)\n", shared, shared + 8192, ds.shm_segsz,
         (unsigned long)ds.shm_nattch);
  shmdt(shared);
  const char* ro = shmat(id, NULL, SHM_RDONLY);
  printf("read-only view: %s\n", ro);
  shmdt(ro);
  shmctl(id, IPC_RMID, NULL);

  int filled = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  if (fork() == 0) {
    char* p = shmat(filled, NULL, 0);
    strcpy(p, "filled before the parent attached");
    _exit(0);
  }
  wait(NULL);
  char* p = shmat(filled, NULL, 0);
  printf("%s\n", p);
  shmdt(p);
  shmctl(filled, IPC_RMID, NULL);
  return 0;
}
