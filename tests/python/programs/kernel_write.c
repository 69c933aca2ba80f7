// A global written only by the kernel: getrandom() fills it.
#include <stdio.h>
#include <sys/random.h>

unsigned long long from_kernel;

int main(void) {
  if (getrandom(&from_kernel, sizeof from_kernel, 0) != sizeof from_kernel) return 1;
  printf("%llx\n", from_kernel);
  return 0;
}
