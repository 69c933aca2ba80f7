// Entry point of liblldb-rrx.so: lldb calls lldb::PluginInitialize when it
// loads the plugin (`plugin load`, or at startup from its plugin directory).
#include <lldb/API/LLDB.h>

#include "last_write_command.h"
#include "launch_command.h"
#include "monitor_commands.h"
#include "replay_commands.h"
#include "reverse_commands.h"
#include "watch_command.h"

namespace lldb {

__attribute__((visibility("default"))) bool PluginInitialize(lldb::SBDebugger debugger) {
  rrx::lldb_plugin::add_replay_commands(debugger);
  rrx::lldb_plugin::add_reverse_commands(debugger);
  rrx::lldb_plugin::add_monitor_commands(debugger);
  rrx::lldb_plugin::add_last_write_command(debugger);
  rrx::lldb_plugin::add_launch_override(debugger);
  rrx::lldb_plugin::add_watch_size_override(debugger);
  return true;
}

}  // namespace lldb
