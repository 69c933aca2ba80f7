#include "command_runner.h"

namespace rrx::lldb_plugin {

CommandResult run_command(lldb::SBDebugger debugger, const std::string& line) {
  lldb::SBCommandReturnObject result;
  debugger.GetCommandInterpreter().HandleCommand(line.c_str(), result);
  CommandResult out;
  out.ok = result.Succeeded();
  if (const char* text = result.GetOutput()) out.output = text;
  if (const char* text = result.GetError()) out.error = text;
  return out;
}

void print(lldb::SBDebugger debugger, std::string_view text) {
  lldb::SBFile file = debugger.GetOutputFile();
  size_t written = 0;
  file.Write(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &written);
  file.Flush();
}

std::string join_words(char** words) {
  std::string line;
  for (; words && *words; ++words) {
    if (!line.empty()) line += ' ';
    line += *words;
  }
  return line;
}

}  // namespace rrx::lldb_plugin
