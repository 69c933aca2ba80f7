/* 1.5e9 iterations of syscall-free work (~3 s here): a run over
   it makes no event at all, yet Ctrl-C must stop it within moments. */
#include <stdio.h>

#define ITERATIONS 1500000000L

volatile long sink;

int main(void) {
  long total = 0;
  for (long i = 0; i < ITERATIONS; i++) { /* LINE_LOOP */
    total += i; /* LINE_BODY */
    sink = total; /* LINE_STORE */
  }
  printf("%ld\n", total);
  return 0;
}
