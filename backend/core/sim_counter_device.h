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
// Counting per thread: the page is the process's, but under rrx only one
// thread of a process runs user code at a time, so the page's growth over
// one of the thread's runs in user code (resume to stop, see
// before_resume/after_stop) is that thread's. Runs that start inside a
// syscall count nothing (other threads may run user code meanwhile).
//
// Differences from the PMU that remain: code the soft patcher leaves out
// (the vdso, JITs, the preload library) is not counted; the interrupt
// always lands in a branch stub (the PMU's anywhere); the skid is small.
#pragma once

#include <cstdint>
#include <memory>

#include "core/counter_device.h"

namespace rrx {

class Task;

constexpr uint64_t kSimSkid = 6;

std::unique_ptr<CounterDevice> open_sim_counter(Task& task);

}  // namespace rrx
