// Starting a replay from lldb: `replay [TRACE]`, `rr replay [TRACE]` and
// `process connect replay://TRACE` all start (or reuse) an
// `rrx replay --serve TRACE` backend, create the target from the recorded
// executable and connect to the backend. `rr binary [PATH]` shows or sets
// the rrx executable used.
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_replay_commands(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
