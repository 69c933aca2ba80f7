// debuggee: a small program for a recorded debugger to stop in: main calls
// twice() three times and prints the sum.
#include <stdio.h>

__attribute__((noinline)) int twice(int x) { return 2 * x; }

int main(void) {
  int sum = 0;
  for (int i = 0; i < 3; i++) sum += twice(i);
  printf("sum %d\n", sum);
  return 0;
}
