/* CPU-bound loop for measuring the plugin's cost (bench.sh): an xorshift
   generator feeding a data-dependent branch, 2e8 iterations by default. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000000L;
  unsigned long long x = 88172645463325252ULL, acc = 0;
  for (long i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (x % 3 == 0)
      acc += x >> 5;
    else
      acc ^= x;
  }
  printf("%llu\n", acc);
  return 0;
}
