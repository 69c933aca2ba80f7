// A parent and a child pass a token back and forth through MAP_SHARED
// anonymous memory (built with -DSHARED_MEMFD: a shared mapping of a
// memfd), spinning on atomics with no syscalls. How long each
// spins differs from run to run; a replay must reproduce the recorded
// counts (rrx runs the two processes one at a time, switching at tick
// counts, since they share memory).
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 200

struct shared {
  int turn;
  long spins[2];
};

int main(void) {
#ifdef SHARED_MEMFD
  int fd = memfd_create("rrx-token", 0);
  if (fd < 0 || ftruncate(fd, sizeof(struct shared)) != 0) return 2;
  struct shared* s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
#else
  struct shared* s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
#endif
  if (s == MAP_FAILED) return 2;
  pid_t child = fork();
  int me = child == 0 ? 1 : 0;
  for (int round = 0; round < ROUNDS; round++) {
    while (__atomic_load_n(&s->turn, __ATOMIC_SEQ_CST) != me) s->spins[me]++;
    __atomic_store_n(&s->turn, 1 - me, __ATOMIC_SEQ_CST);
  }
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  printf("%d rounds; parent spun %ld times, child %ld times\n", ROUNDS, s->spins[0], s->spins[1]);
  return 0;
}
