/* bench/reverse workload: 10^6 iterations of syscall-free work, built
   -O0 without the tick plugin. */
#include <stdio.h>
volatile long sink;
int main(void) {
  long total = 0;
  for (long i = 0; i < 1000000; i++) {
    total += i; /* BODY */
    sink = total;
  }
  printf("%ld\n", total); /* AFTER */
  return 0;
}
