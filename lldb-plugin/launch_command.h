// `process launch` (and `run`, its alias) on a replay: starts the replay
// over from the beginning, breakpoints kept, as gdb's `run` does with rrx
// (and rr); `run N` starts at event N.
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_launch_override(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
