/* gdb end-to-end debuggee for breakpoints stepped over out of line
   (backend/replay/displaced_steps.h): the first instruction of the line
   that mixes x reads a local (a plain instruction, not rip-relative) and
   the one of the next line increments a local in memory, so breakpoints
   there are stepped over by running copies of them. The program prints
   what it computed natively; the cases compare the values the replay
   shows at its stops: at the hit of the mixing line with i == k, x is the
   value printed for k-1 and count == k. */
#include <stdio.h>

#define N 2000

int main(void) {
  unsigned long x = 1, at100 = 0, at1900 = 0;
  long count = 0;
  for (long i = 0; i < N; i++) {
    x = x * 6364136223846793005UL + (unsigned long)i; /* LINE_MIX */
    count++;                                          /* LINE_COUNT */
    if (i == 100) at100 = x;                          /* LINE_AFTER_COUNT */
    if (i == 1900) at1900 = x;
  }
  printf("at100 %lu at1900 %lu final %lu count %ld\n", at100, at1900, x, count); /* LINE_PRINT */
  return 0;
}
