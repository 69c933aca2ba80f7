/* gdb end-to-end debuggee: dies from a signal chosen by its argument
   (segv: a write through a bad pointer; abort; fpe: integer division by
   zero), after a write(2) or two for catch syscall to find. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int zero = 0;
int * volatile bad_pointer = (int*)0x10;

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "segv";
  write(1, "first\n", 6);  /* LINE_WRITE1 */
  write(1, "second\n", 7); /* LINE_WRITE2 */
  if (strcmp(how, "abort") == 0) abort(); /* LINE_ABORT */
  if (strcmp(how, "fpe") == 0) return 100 / zero; /* LINE_FPE */
  *bad_pointer = 1; /* LINE_SEGV */
  return 0;
}
