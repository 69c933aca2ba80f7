/* gdb end-to-end debuggee: a long run of syscalls (recorded with -n, each
   one is an event), so a reverse-continue from the end to the breakpoint
   before them replays all of it, for long enough to be interrupted. */
#include <stdio.h>
#include <unistd.h>

#define CALLS 100000

int started = 0;

int main(void) {
  started = 1; /* LINE_START */
  long sum = 0;
  for (int i = 0; i < CALLS; i++) sum += getppid() > 0; /* LINE_LOOP */
  printf("calls %ld\n", sum); /* LINE_PRINT */
  return 0;
}
