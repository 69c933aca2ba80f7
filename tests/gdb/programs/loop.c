/* gdb end-to-end debuggee: a loop that calls a function and writes a
   global. The tests find lines by the marker comments (LINE_...), never
   by number, and derive expected values from the logic below:
   after iteration i, total = sum(2*k+1, k=0..i) = (i+1)^2 and
   global = 3*i + 1 (every write changes it, so watchpoints see each).
   The fflush makes the output an event there (a write to rrx's stdout is
   never buffered; stdout is a pipe in the tests, so printf alone would
   write only at exit): tests rely on an event after the loop. */
#include <stdio.h>

#define N 10

int global = 0;

int work(int i) {
  int doubled = i * 2; /* LINE_WORK_BODY */
  return doubled + 1;  /* LINE_WORK_RETURN */
} /* LINE_WORK_END */

int main(void) {
  int total = 0;                 /* LINE_MAIN_START */
  for (int i = 0; i < N; i++) {  /* LINE_FOR */
    total += work(i);            /* LINE_CALL */
    global = 3 * i + 1;          /* LINE_WRITE */
    total += 0;                  /* LINE_AFTER_WRITE */
  }
  printf("total %d global %d\n", total, global); fflush(stdout); /* LINE_PRINT */
  return 0;                                      /* LINE_RETURN */
} /* LINE_WORK_END */
