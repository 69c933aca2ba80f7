// Tests on one value after another, each guarding a small update: at -O0
// every `if` is a compare and a short jcc, and the update between two of
// them is plain code, so dynamic ticks chain their stubs (the update runs
// as a copy in the stub as well as in place).
#include <stdio.h>

long negatives, bigs, sevens, odds, evens, total;

__attribute__((noinline)) void tally(long x) {
  if (x < 0) negatives += 1;
  if (x > 40) bigs += x;
  if (x == 7) sevens = sevens * 2 + 1;
  if (x & 1) odds++;
  else evens++;
  total += x;
}

int main(void) {
  for (long i = -5; i < 60; ++i) tally(i);
  printf("negatives %ld bigs %ld sevens %ld odds %ld evens %ld total %ld\n", negatives, bigs,
         sevens, odds, evens, total);
  return 0;
}
