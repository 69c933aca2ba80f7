/* Benchmark program for the Python module's write queries: a loop of
   ITERATIONS iterations storing into a global on each, no syscalls inside.
   Built -O0 -g by run.py with -DITERATIONS=N. */
#include <stdio.h>

#ifndef ITERATIONS
#define ITERATIONS 1000000L
#endif

volatile long stored;

int main(void) {
  for (long i = 1; i <= ITERATIONS; i++) stored = i ^ (i >> 3);
  printf("stored %ld\n", stored);
  return 0;
}
