// Whether this machine offers the hardware counter rr-style ticks need.
#pragma once

#include <string>

namespace rrx {

// True if perf_event_open can count retired branches in user space here;
// otherwise false and *why is the system's answer ("No such file or
// directory" in VMs without a virtual PMU).
bool hardware_branch_counter_available(std::string* why);

}  // namespace rrx
