/* Asks cpuid for leaf 0 in a function of its own, then execs itself and
   asks again. In a buffered recording both `cpuid`s are patched sites: the
   first traps (rrx emulates it), the exec'd image's is answered by the
   buffering engine from what the first gave. For stepping over them. */
#include <cpuid.h>
#include <stdio.h>
#include <unistd.h>

unsigned vendor_ebx;

__attribute__((noinline)) unsigned ask(void) {
  unsigned a, b, c, d;
  __cpuid_count(0, 0, a, b, c, d);
  vendor_ebx = b;
  return a;
}

int main(int argc, char** argv) {
  (void)argv;
  unsigned max = ask();
  printf("%s: max leaf %u, ebx %08x\n", argc > 1 ? "after exec" : "before exec", max, vendor_ebx);
  fflush(stdout);
  if (argc == 1) execl("/proc/self/exe", "cpuid_step", "again", (char*)NULL);
  return 0;
}
