// `rrx replay` with no serving option: start a debugger already connected
// to a replay of the trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

struct DebuggerLaunch {
  std::string debugger;  // "gdb", "lldb", or a path to either (or to a
                         // program taking gdb's options: cgdb, gdb-multiarch)
  std::string trace;
  std::string process;   // -p
  uint64_t start_event;  // -g
  bool goto_exit = false;  // -e: run to the end of the recording first
  std::string script;    // -x: run once the replay is connected
  bool fullname = false; // gdb --fullname (for editors driving gdb)
  std::string interpreter;  // gdb -i (mi for IDEs)
  std::vector<std::string> extra_args;  // after "--"
};

// Replaces this process with the debugger; returns only on failure.
int launch_debugger(const DebuggerLaunch& launch);

// Where the debugger plugins live, relative to the running rrx binary
// (build tree and install tree have the same layout).
std::string gdb_plugin_path();
std::string lldb_plugin_path();

}  // namespace rrx
