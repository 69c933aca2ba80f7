// The reverse execution commands: reverse-continue (rc), reverse-stepi
// (rsi), reverse-step (rs), reverse-next (rn), reverse-finish (rf), and -R
// on `process continue` / `thread step-inst` (LLVM 21's spelling).
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_reverse_commands(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
