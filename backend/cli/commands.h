// The rrx subcommands. Each takes the arguments after its name and returns
// the process exit status; user errors print one "rrx: ..." line.
#pragma once

#include <string>
#include <vector>

namespace rrx {

int record_command(const std::vector<std::string>& args);
int replay_command(const std::vector<std::string>& args);
// Prints every event of a trace, one line each.
int dump_command(const std::vector<std::string>& args);

enum class DebuggerKind { kGdb, kLldb };
// Prints the init-file line that loads our plugin into that debugger.
int print_init_line(DebuggerKind kind);

// Prints "rrx: <message>" on stderr; returns the exit status for errors.
int usage_error(const std::string& message);

}  // namespace rrx
