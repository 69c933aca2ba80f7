// Stand-ins for the hardware branch counter in tests that must run without
// a PMU: the software page-fault perf event counts exactly, fires overflow
// interrupts like the branch counter, and a child makes as many of its
// events as it wants. Shared by test_hw_branch_counter and test_hw_ticks.
#pragma once

#include <linux/perf_event.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>

#include "core/hw_branch_counter.h"

namespace rrx {

// The page-fault event in the branch counter's shape: user faults only,
// starting disabled, no sampling until a test arms an overflow.
inline HwBranchEvent page_fault_event() {
  HwBranchEvent event;
  event.attr.size = sizeof event.attr;
  event.attr.type = PERF_TYPE_SOFTWARE;
  event.attr.config = PERF_COUNT_SW_PAGE_FAULTS;
  event.attr.sample_period = 1ULL << 62;
  event.attr.disabled = 1;
  event.attr.exclude_kernel = 1;
  event.attr.exclude_hv = 1;
  return event;
}

// Touches `pages` fresh anonymous pages: one fault each (THP off).
inline void touch_fresh_pages(size_t pages) {
  size_t len = pages * 4096;
  auto* p = static_cast<volatile char*>(
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) _exit(10);
  madvise(const_cast<char*>(p), len, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < pages; ++i) p[i * 4096] = 1;
  munmap(const_cast<char*>(p), len);
}

}  // namespace rrx
