/* Uninstrumented; see shared_lib.c. */
#include <stdio.h>

unsigned long long collatz_steps(unsigned long long n);
unsigned long long lib_ticks(void);

int main(void) {
  unsigned long long steps = collatz_steps(27);
  unsigned long long ticks = lib_ticks();
  int ok = steps == 111 && ticks >= 111;
  printf("%s: collatz(27) takes %llu steps, %llu ticks\n",
         ok ? "PASS" : "FAIL", steps, ticks);
  return !ok;
}
