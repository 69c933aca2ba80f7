/* Benchmark debuggee: a 10^6-iteration loop with no syscalls inside, then
   one write. Built -O0 -g by run.sh; lines are found by the markers. */
#include <stdio.h>

#ifndef ITERATIONS
#define ITERATIONS 1000000L /* run.sh may override with -DITERATIONS=N */
#endif

int main(void) {
  long sum = 0;
  for (long i = 0; i < ITERATIONS; i++) {
    sum += i ^ (i >> 3); /* LINE_BODY */
  }
  printf("sum %ld\n", sum); /* LINE_AFTER */
  return 0;
}
