// The program the lldb.real.* tests record with rrx and debug in lldb-19
// (and, for comparison, in gdb). An ordinary -O0 -g program on the C
// library, so lldb has to find libc through the dynamic loader. Tests find
// places in it by the "// @name" markers, so keep them when editing.
// stdout is line-buffered: each printf's write to rrx's stdout (a pipe in
// the tests, never buffered by rrx) is then an event right there, which the
// tests' `when` checks rely on.
#include <stdio.h>

int counter;  // written by add(): the watchpoint cases watch it

__attribute__((noinline)) static int add(int a, int b) {
  int sum = a + b;  // @add_body
  counter++;        // @add_write
  return sum;       // @add_return
}  // @add_end

__attribute__((noinline)) static int twice(int x) {
  int y = add(x, x);  // @twice_call
  return y;  // @twice_return
}  // @twice_end

int main(void) {
  int total = setvbuf(stdout, NULL, _IOLBF, 0);  // @main_body
  for (int i = 0; i < 3; i++) {  // @loop_head
    total = add(total, i);        // @loop_call
    printf("total %d\n", total);  // @print
  }
  total = twice(total);  // @twice_site
  counter += total;      // @after_twice
  printf("done %d\n", counter);  // @done
  return 0;
}
