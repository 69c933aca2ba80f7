#include <cstdio>

#include "cli/commands.h"
#include "cli/debugger_launch.h"
#include "core/printable.h"

namespace rrx {

int usage_error(const std::string& message) {
  // Messages quote trace contents and user input: one printable line.
  fprintf(stderr, "rrx: %s\n", printable(message).c_str());
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
