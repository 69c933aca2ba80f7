#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: rrx record [-o DIR] [-u] [-n] [-w] [-c TICKS] [--chaos] [--ticks=auto|hw|soft|static|none | -W] PROGRAM [ARGS...]\n"
    "                                               record PROGRAM and what it starts\n"
    "       rrx replay -a [TRACE]                   replay without a debugger\n"
    "       rrx replay [-p PID|NAME] [-g EVENT] [-d DEBUGGER] [TRACE]\n"
    "                                               debug a replay in gdb (or lldb)\n"
    "       rrx replay --serve | -s PORT | --stdio [TRACE]\n"
    "                                               serve a replay to a debugger or IDE\n"
    "       rrx dump [TRACE]                        list the events of a trace\n"
    "       rrx gdbinit | lldbinit                  print the line for ~/.gdbinit or ~/.lldbinit\n"
    "TRACE defaults to the latest recording ($RRX_TRACE_DIR, $XDG_DATA_HOME/rrx\n"
    "or ~/.local/share/rrx, link latest-trace).\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "record") return rrx::record_command(args);
  if (command == "replay") return rrx::replay_command(args);
  if (command == "dump") return rrx::dump_command(args);
  if (command == "gdbinit") return rrx::print_init_line(rrx::DebuggerKind::kGdb);
  if (command == "lldbinit") return rrx::print_init_line(rrx::DebuggerKind::kLldb);
  if (command == "help" || command == "--help" || command == "-h") {
    fputs(kUsage, stdout);
    return 0;
  }
  return rrx::usage_error("unknown command '" + command + "' (try 'rrx help')");
}
