// The simulated hardware counter behind `--ticks=hw-sim` (a test-only tick
// source): it lets the hardware tick source's record and replay paths run
// end to end on machines without a PMU, and gives the unit tests a counter
// with the PMU's habits.
//
// It counts with the soft tick machinery (the tick page and the patched
// branches, backend/ticks/), read through the CounterDevice interface the
// way the PMU's counter is, and interrupts like the PMU does: late. An
// overflow after N branches arms the page's trap N + k branches on, k drawn
// anew each time from 0..kSimSkid, and the interrupt is that trap (a
// SIGTRAP in the branch stub; the recorder and replayer then step out of
// the stub, as for any asynchronous stop there).
//
// Differences from the PMU that matter: the count is the process's (the
// page is shared by its threads, which under rrx run one at a time, so it
// is as deterministic as a per-thread count, only larger); code the soft
// patcher leaves out (the vdso, JITs) is not counted; the tick page is
// re-created at exec, which the device notices (the count falls) and
// bridges with the count it last read (every event reads it, and
// execve's entry is an event).
#pragma once

#include <cstdint>
#include <memory>

#include "core/counter_device.h"

namespace rrx {

class Task;

constexpr uint64_t kSimSkid = 6;

std::unique_ptr<CounterDevice> open_sim_counter(Task& task);

}  // namespace rrx
