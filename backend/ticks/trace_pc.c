/* The -fsanitize-coverage=trace-pc callback: GCC calls it at the start of
   every basic block, and it runs the same counting sequence as the plugin
   (tick_page.h), so ticks here count basic blocks entered. Must itself be
   built without -fsanitize-coverage. */
#include <stdint.h>

#include "tick_page.h"

void __sanitizer_cov_trace_pc(void) {
  uint64_t scratch;
  __asm__ goto(RRX_TICK_ASM_COUNT : "=r"(scratch) : : "cc" : trap);
  return;
trap:
  __asm__ volatile(RRX_TICK_ASM_TRAP);
}
