/* bench/reverse workload for a conditional breakpoint: 10^5 iterations of
   syscall-free work, built -O0 without the tick plugin. run.py puts
   a breakpoint with the condition `i == 5` on the loop body's line and
   reverse-continues from the line after the call: every one of the 10^5
   hits is evaluated, only an early one stops. */
#include <stdio.h>
volatile long sink;
static long spin(long n) {
  long total = 0;
  for (long i = 0; i < n; i++) {
    total += i; /* BODY */
    sink = total;
  }
  return total;
}
int main(void) {
  long total = spin(100000);
  printf("%ld\n", total); /* AFTER */
  return 0;
}
