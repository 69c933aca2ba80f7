#!/usr/bin/env bash
# Recorded as a whole by e2e.real.gcc: writes a small C file into a temp
# dir, compiles it with gcc (driver, cc1, as, collect2/ld: many execs, pipes,
# temp files) and runs the result.
set -euo pipefail
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/x.c" <<'C'
#include <stdio.h>
int main(void) {
  long sum = 0;
  for (int i = 1; i <= 100; i++) sum += (long)i * i;
  printf("compiled program says: sum of squares 1..100 = %ld\n", sum);
  return 0;
}
C
sh -c 'cd "$1" && gcc -O1 -o x x.c && ./x' sh "$tmp"
