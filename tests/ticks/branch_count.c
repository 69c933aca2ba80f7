/* (b) Ticks count conditional branches exactly. Built at -O0, where GCC
   keeps the source's branches as they are:

     for (i = 0; i < n; i++)      the test i < n runs n + 1 times
       if (i % 3 == 0) ...        this runs n times

   so one call of loop(n) adds exactly 2n + 1 ticks (a for loop at -O0 is
   "i = 0; goto test; body: ...; i++; test: if (i < n) goto body;"). The
   total printed at the end must be the same on every run. */
#include <stdio.h>

#include "tick_page.h"

#define N 100000

static long multiples;

__attribute__((noinline)) static void loop(long n) {
  for (long i = 0; i < n; i++) {
    if (i % 3 == 0)
      multiples++;
  }
}

int main(void) {
  volatile struct rrx_tick_page *page = rrx_tick_page();
  uint64_t before = rrx_tick_count(page);
  loop(N);
  uint64_t delta = rrx_tick_count(page) - before;
  int ok = delta == 2 * N + 1 && multiples == (N + 2) / 3;
  printf("%s: loop(%d) took %llu ticks (expected %d); %llu ticks in all\n",
         ok ? "PASS" : "FAIL", N, (unsigned long long)delta, 2 * N + 1,
         (unsigned long long)rrx_tick_count(page));
  return !ok;
}
