#include <cstdio>

#include "cli/commands.h"
#include "cli/debugger_launch.h"

namespace rrx {

int usage_error(const std::string& message) {
  fprintf(stderr, "rrx: %s\n", message.c_str());
  return 1;
}

int print_init_line(DebuggerKind kind) {
  if (kind == DebuggerKind::kGdb) {
    printf("source %s\n", gdb_plugin_path().c_str());
  } else {
    printf("plugin load %s\n", lldb_plugin_path().c_str());
  }
  return 0;
}

}  // namespace rrx
