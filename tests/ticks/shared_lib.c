/* An instrumented shared library loaded by an uninstrumented program: the
   library's own copy of the page constructor maps the page. */
#include "tick_page.h"

unsigned long long collatz_steps(unsigned long long n) {
  unsigned long long steps = 0;
  while (n != 1) {
    n = n % 2 ? 3 * n + 1 : n / 2;
    steps++;
  }
  return steps;
}

unsigned long long lib_ticks(void) { return rrx_tick_count(rrx_tick_page()); }
