// hello: the smallest tracee. One line on stdout, exit 0. Writes nothing to
// stderr so that a replay of a corrupted hello trace can be checked for
// "exactly one rrx: line on stderr" (see tests/e2e/bad_input.sh).
#include <stdio.h>

int main(void) {
  printf("hello, world\n");
  return 0;
}
