// Finding the trace a command names and keeping latest-trace right when
// traces are removed or renamed (rm, mv).
#pragma once

#include <string>

namespace rrx {

// The canonical path of the trace `arg` names (resolve_trace rules); ""
// and *error when it is not a trace.
std::string locate_trace(const std::string& arg, std::string* error);

// Whether latest-trace leads to `trace` (a path locate_trace returned).
// Asked before the trace is removed or renamed.
bool is_latest_trace(const std::string& trace);

// Points latest-trace at `trace`, or, when it is "", at the remaining trace
// recorded last (removing the link when there is none).
void repoint_latest_trace(const std::string& trace);

}  // namespace rrx
