/* Calls libc's sched_yield, a bare `mov $NR,%eax; syscall` function, twice:
   for stepping over (patched) syscall sites. */
#include <sched.h>
#include <stdio.h>

int main(void) {
  int r = sched_yield();
  r += sched_yield();
  printf("%d\n", r);
  return 0;
}
