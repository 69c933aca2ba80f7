/* The -fsanitize-coverage=trace-pc callback: GCC calls it at the start of
   every basic block, and it runs the same counting sequence as the plugin
   (tick_page.h), so ticks here count basic blocks entered. Must itself be
   built without -fsanitize-coverage. */
#include <stdint.h>

#include "tick_page.h"
#include "tick_page_map.h"

void __sanitizer_cov_trace_pc(void) {
  __asm__ volatile goto(RRX_TICK_ASM_COUNT : : : "cc" : trap);
  return;
trap:
  __asm__ volatile(RRX_TICK_ASM_TRAP);
}

/* Any program that links this callback needs the page outside rrx; being
   in this object, the entry comes along whenever the callback does.
   Priority 0, like the plugin's constructor: before every constructor a
   user can declare (GCC reserves priorities below 101 and warns on
   constructor(N) with those, hence the explicit section). */
static void map_at_startup(void) { rrx_tick_page_map(); }

__attribute__((used, section(".init_array.00000"))) static void (
    *const map_at_startup_entry)(void) = map_at_startup;

/* Tells the tracer's dynamic instrumentation to leave this object alone. */
__asm__(RRX_TICK_ASM_MARKER("rrx_trace_pc_marker"));
