// daemonize: the classic double fork. The grandchild, in a session of its
// own, prints its pid, sleeps for argv[1] seconds and prints again; the
// initial process exits once the grandchild's first line is out (it waits
// for it through a pipe), without waiting for the grandchild.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1000;
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    if (fork() != 0) _exit(0);
    setsid();
    printf("grandchild %d started\n", (int)getpid());
    fflush(stdout);
    close(ready[1]);
    struct timespec pause = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&pause, NULL);
    printf("grandchild done\n");
    return 0;
  }
  close(ready[1]);
  waitpid(child, NULL, 0);
  char c;
  (void)!read(ready[0], &c, 1);  // EOF: the grandchild has printed
  printf("initial process exits\n");
  return 0;
}
