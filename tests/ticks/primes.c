/* (a) An instrumented program runs outside rrx and computes the right
   thing: its constructor mapped the tick page and the counter moved. */
#include <stdio.h>

#include "tick_page.h"

static int is_prime(int n) {
  if (n < 2)
    return 0;
  for (int d = 2; d * d <= n; d++)
    if (n % d == 0)
      return 0;
  return 1;
}

int main(void) {
  long sum = 0;
  int count = 0;
  for (int n = 0; n < 10000; n++) {
    switch (n % 4) { /* a switch too: counted as one branch */
    case 1:
    case 3:
      if (is_prime(n)) {
        count++;
        sum += n;
      }
      break;
    case 2:
      if (n == 2) {
        count++;
        sum += n;
      }
      break;
    default:
      break;
    }
  }
  volatile struct rrx_tick_page *page = rrx_tick_page();
  int ok = count == 1229 && sum == 5736396 &&
           page->magic == RRX_TICK_PAGE_MAGIC &&
           page->version == RRX_TICK_PAGE_VERSION &&
           page->target == UINT64_MAX && page->trap_pending == 0 &&
           rrx_tick_count(page) > 10000;
  printf("%s: %d primes below 10000, sum %ld, %llu ticks\n",
         ok ? "PASS" : "FAIL", count, sum, (unsigned long long)rrx_tick_count(page));
  return !ok;
}
