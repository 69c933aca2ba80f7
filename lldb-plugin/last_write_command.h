// last-write VARIABLE: back to the write that last changed an lvalue, with its
// value before and after and the source line (the same query as the gdb
// plugin's last-write and the Python module's last_write()).
#pragma once

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

void add_last_write_command(lldb::SBDebugger debugger);

}  // namespace rrx::lldb_plugin
