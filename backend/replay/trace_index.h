// What a trace holds, read from its events without replaying them: a
// request for something it does not hold (`rrx replay -p NAME`, `-g
// EVENT`) fails at once instead of after a replay of the whole trace.
#pragma once

#include <cstdint>
#include <string>

namespace rrx {

// "" if the trace has a process `process` (a recorded pid, or a program
// name as names_program() matches it; "" for the first process) and an
// event `start_event`; otherwise the line saying what is missing.
std::string check_trace_holds(const std::string& trace_dir, const std::string& process,
                              uint64_t start_event);

// The number of the trace's last event (for a trace cut short, of its
// last complete one); 0 if it cannot be read.
uint64_t last_trace_event(const std::string& trace_dir);

}  // namespace rrx
