// robust_mutex: robust mutexes whose owner dies holding them. A thread
// ends while it holds one; a child process holding one in shared memory
// is killed. The kernel marks each (FUTEX_OWNER_DIED, from the robust list
// it keeps per thread), so the next locker gets EOWNERDEAD. Replay must
// mark them as the kernel did, though the lock words hold recorded tids.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t* mutex;

static void* lock_and_leave(void* arg) {
  (void)arg;
  pthread_mutex_lock(mutex);
  return NULL;  // ends holding it
}

static void lock_after_death(const char* whose) {
  int r = pthread_mutex_lock(mutex);
  printf("after the %s died holding it: %s\n", whose, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  pthread_mutex_consistent(mutex);
  pthread_mutex_unlock(mutex);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  mutex = mmap(NULL, sizeof *mutex, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(mutex, &attr);

  pthread_t thread;
  pthread_create(&thread, NULL, lock_and_leave, NULL);
  pthread_join(thread, NULL);
  lock_after_death("thread");

  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    pthread_mutex_lock(mutex);
    if (write(ready[1], "x", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c;
  if (read(ready[0], &c, 1) != 1) return 1;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  lock_after_death("child process");
  return 0;
}
