/* Sleeps 300 ms between two lines of output: elapsed-time must tell the
   points apart by at least that much. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  puts("before");
  fflush(stdout);
  usleep(300000);
  puts("after"); /* LINE_AFTER */
  fflush(stdout);
  return 0;
}
