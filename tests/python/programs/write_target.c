// Globals written at known places (the markers name their lines for the
// Python and gdb tests): `counter` by bump() 100 times (1 to 100), `target`
// once in main() (1) and last by corrupt() (0xdead).
#include <stdio.h>

volatile int counter;
volatile long target;

void bump(int i) {
  counter = i;  // WRITE counter LINE_COUNTER
}

void corrupt(void) {
  target = 0xdead;  // WRITE corrupt LINE_CORRUPT
}

int main(void) {
  for (int i = 1; i <= 100; i++) bump(i);
  target = 1;  // WRITE main LINE_MAIN_WRITE
  corrupt();
  printf("counter %d target %lx\n", counter, target);  // LINE_PRINT
  return 0;
}
