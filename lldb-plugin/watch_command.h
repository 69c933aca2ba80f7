// `watchpoint set expression -- &x` on lldb-19 watches as many bytes as a
// pointer has (8), whatever x is: the plugin adds `-s SIZE` of the pointee
// (1, 2 or 4 bytes) when none is given, so `&x` watches x, as
// `watchpoint set variable x` does.
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_watch_size_override(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
