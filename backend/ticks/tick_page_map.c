/* Mapping the tick page for trace-pc programs run outside rrx (trace_pc.c
   calls this at startup). Plugin-built programs carry an assembly twin of
   this (gcc_plugin/page_ctor.cc). */
#define _GNU_SOURCE
#include "tick_page_map.h"

#include <stdint.h>
#include <sys/mman.h>

#include "tick_page.h"

int rrx_tick_page_map(void) {
  void *want = (void *)(uintptr_t)RRX_TICK_PAGE_ADDR;
  /* MAP_FIXED_NOREPLACE fails with EEXIST when the recorder mapped it. */
  void *got = mmap(want, RRX_TICK_PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got != want)
    return 0;
  volatile struct rrx_tick_page *page = rrx_tick_page();
  page->magic = RRX_TICK_PAGE_MAGIC;
  page->version = RRX_TICK_PAGE_VERSION;
  page->target = UINT64_MAX;
  page->count = 1; /* ticks = count + target = 0 */
  return 1;
}
