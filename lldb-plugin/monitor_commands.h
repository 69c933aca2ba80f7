// rrx's extension commands, sent to the server as `monitor` (qRcmd)
// commands: when, when-ticks, when-tid, checkpoint, checkpoint list,
// info checkpoints, delete checkpoint N, restart N.
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_monitor_commands(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
