// A global written at known places: `counter` by bump() 100 times (1 to
// 100), `target` once in main() (1) and last by corrupt() (0xdead).
#include <stdio.h>

volatile int counter;
volatile long target;

void bump(int i) {
  counter = i;  // WRITE counter
}

void corrupt(void) {
  target = 0xdead;  // WRITE corrupt
}

int main(void) {
  for (int i = 1; i <= 100; i++) bump(i);
  target = 1;  // WRITE main
  corrupt();
  printf("counter %d target %lx\n", counter, target);
  return 0;
}
