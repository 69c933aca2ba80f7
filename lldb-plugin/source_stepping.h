// reverse-step, reverse-next and reverse-finish, built the way gdb builds
// them from reverse single steps, temporary breakpoints and reverse
// continues (lldb's own source-level stepping is wrong when the server runs
// backwards). Frames are told apart by their CFA: a callee's is lower.
#pragma once

#include <string>

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

enum class SourceStep {
  kStep,    // reverse-step: back to the start of the previous line, entering calls
  kNext,    // reverse-next: the same, stepping back over calls
  kFinish,  // reverse-finish: back to the call of the current function
};

// Runs the step backwards; *output gets where it stopped.
bool reverse_source_step(lldb::SBDebugger debugger, SourceStep kind, std::string* output,
                         std::string* error);

}  // namespace rrx::lldb_plugin
