// The PMU's counter device: a HwBranchCounter (perf_event_open of retired
// conditional branches, overflow signal kHwTickSignal to the thread).
#pragma once

#include <memory>
#include <string>

#include "core/counter_device.h"
#include "core/hw_branch_counter.h"

namespace rrx {

class Task;

// Opens the counter on `task`'s thread (stopped, before it runs on) and
// starts it counting; the device lives inside the Task (Task::hw_ticks).
// Null and *why if perf_event_open or its fcntls refuse.
std::unique_ptr<CounterDevice> open_perf_counter(const HwBranchEvent& event, const Task& task,
                                                 std::string* why);

}  // namespace rrx
