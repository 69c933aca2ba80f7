// Whether this machine offers the hardware counter rr-style ticks need.
#pragma once

#include <string>

namespace rrx {

// True if retired conditional branches, encoded for this CPU by libpfm4
// (core/hw_branch_counter.h), can be counted in user space here: the exact
// counter the hw tick source uses is opened on this thread and must count a
// known loop. Otherwise false and *why is one line saying which step failed
// and why (e.g. perf_event_open's ENOENT in VMs without a virtual PMU).
bool hardware_branch_counter_available(std::string* why);

}  // namespace rrx
