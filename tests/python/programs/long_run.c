// Many events: 20000 traced syscalls (getppid is not buffered: each is an
// entry and an exit event), so a replay of it runs long enough to be
// interrupted in the middle.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile long progress;

int main(void) {
  for (progress = 0; progress < 20000; progress++) syscall(SYS_getppid);
  printf("done %ld\n", progress);
  return 0;
}
