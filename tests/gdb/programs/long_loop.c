/* 200000 iterations of syscall-free work in a function, for reverse
   execution over a long stretch with dynamic ticks (gdb case
   dyn_ticks_long_loop names the lines below by number). */
#include <stdio.h>
volatile long sink;
static long spin(long n) {
  long total = 0;
  for (long i = 0; i < n; i++) {
    total += i; /* line 9 */
    sink = total; /* line 10 */
  }
  return total; /* line 12 */
}
int main(void) {
  long total = spin(200000); /* line 15 */
  printf("%ld\n", total); /* line 16 */
  return 0;
}
