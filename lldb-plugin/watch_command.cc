#include "watch_command.h"

#include <string>
#include <string_view>

#include "command_runner.h"

namespace rrx::lldb_plugin {
namespace {

constexpr std::string_view kCommand = "watchpoint set expression";

// The pointee's size if `expression` is a pointer to 1, 2 or 4 bytes (8 is
// what lldb watches anyway); 0 otherwise, or when it cannot be evaluated.
uint64_t pointee_size(lldb::SBDebugger debugger, const std::string& expression) {
  lldb::SBProcess process = debugger.GetSelectedTarget().GetProcess();
  if (!process.IsValid() || process.GetState() != lldb::eStateStopped) return 0;
  lldb::SBFrame frame = process.GetSelectedThread().GetSelectedFrame();
  lldb::SBValue value = frame.EvaluateExpression(expression.c_str());
  if (!value.IsValid() || value.GetError().Fail() || !value.GetType().IsPointerType()) return 0;
  uint64_t size = value.GetType().GetPointeeType().GetByteSize();
  return size == 1 || size == 2 || size == 4 ? size : 0;
}

// A raw command: argv[0] is the whole line, "watchpoint set expression
// [OPTIONS --] EXPRESSION". Without a size option it runs again with one
// (and is declined then, the size given).
bool watch_size_override(void* baton, const char** argv) {
  lldb::SBDebugger debugger = *static_cast<lldb::SBDebugger*>(baton);
  std::string_view line = argv[0] ? argv[0] : "";
  if (!line.starts_with(kCommand)) return false;
  std::string args(line.substr(kCommand.size()));
  size_t dashes = args.find(" -- ");
  std::string options = dashes == std::string::npos ? "" : args.substr(0, dashes);
  std::string expression = dashes == std::string::npos ? args : args.substr(dashes + 4);
  expression.erase(0, expression.find_first_not_of(' '));
  if (dashes == std::string::npos && args.find_first_not_of(' ') != std::string::npos &&
      args[args.find_first_not_of(' ')] == '-') {
    return false;  // options without `--`: lldb's own parsing says what is wrong
  }
  if (options.find("-s") != std::string::npos || options.find("--size") != std::string::npos) {
    return false;
  }
  uint64_t size = pointee_size(debugger, expression);
  if (size == 0) return false;
  CommandResult result = run_command(
      debugger, std::string(kCommand) + " -s " + std::to_string(size) + options + " -- " + expression);
  print(debugger, result.output);
  if (!result.ok) print(debugger, "error: " + result.error + "\n");
  return true;
}

}  // namespace

void add_watch_size_override(lldb::SBDebugger debugger) {
  // The baton lives as long as the debugger may call the override: forever.
  debugger.GetCommandInterpreter().SetCommandOverrideCallback(
      std::string(kCommand).c_str(), watch_size_override, new lldb::SBDebugger(debugger));
}

}  // namespace rrx::lldb_plugin
