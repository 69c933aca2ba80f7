/* bench/reverse workload: 10^6 iterations of syscall-free work in a
   function, built -O0 without the tick plugin. The markers name the lines
   bench/reverse/run.py stops at. */
#include <stdio.h>
volatile long sink;
static long spin(long n) {
  long total = 0;
  for (long i = 0; i < n; i++) {
    total += i; /* BODY */
    sink = total;
  }
  return total; /* END */
}
int main(void) {
  long total = spin(1000000); /* CALL */
  printf("%ld\n", total); /* AFTER */
  return 0;
}
