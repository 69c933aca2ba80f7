// Prints what its library says: a program whose executable and library the
// pack test copies, records, then overwrites in place.
#include <stdio.h>

const char* greeting(void);

int main(void) {
  printf("%s\n", greeting());
  return 0;
}
