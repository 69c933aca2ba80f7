#include "command_runner.h"

namespace rrx::lldb_plugin {

CommandResult run_command(lldb::SBDebugger debugger, const std::string& line) {
  lldb::SBCommandReturnObject result;
  debugger.GetCommandInterpreter().HandleCommand(line.c_str(), result);
  CommandResult out;
  out.ok = result.Succeeded();
  if (const char* text = result.GetOutput()) out.output = text;
  if (const char* text = result.GetError()) out.error = text;
  // The caller reports it through lldb again, which adds both back.
  if (out.error.starts_with("error: ")) out.error.erase(0, 7);
  while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
  return out;
}

void print(lldb::SBDebugger debugger, std::string_view text) {
  lldb::SBFile file = debugger.GetOutputFile();
  size_t written = 0;
  file.Write(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &written);
  file.Flush();
}

size_t name_words(std::string_view name) {
  size_t words = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != ' ' && (i == 0 || name[i - 1] == ' ')) ++words;
  }
  return words;
}

std::string join_words(char** words) {
  std::string line;
  for (; words && *words; ++words) {
    if (!line.empty()) line += ' ';
    line += *words;
  }
  return line;
}

bool finish_command(lldb::SBCommandReturnObject& result, bool ok, const std::string& output,
                    const std::string& error, const char* fallback_error) {
  if (!output.empty()) result.Printf("%s", output.c_str());
  if (ok) {
    result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
  } else {
    result.SetError(error.empty() ? fallback_error : error.c_str());
  }
  return ok;
}

}  // namespace rrx::lldb_plugin
