// Small helpers for running lldb commands from the plugin's own commands.
#pragma once

#include <string>
#include <string_view>

#include <lldb/API/LLDB.h>

namespace rrx::lldb_plugin {

struct CommandResult {
  bool ok = false;
  std::string output;
  std::string error;  // without lldb's "error: " prefix and final newline
};

// Runs `line` as if typed at the (lldb) prompt.
CommandResult run_command(lldb::SBDebugger debugger, const std::string& line);

// Ends a plugin command: shows `output`, then success, or `error` (or
// `fallback_error` when that is empty). Returns `ok`.
bool finish_command(lldb::SBCommandReturnObject& result, bool ok, const std::string& output,
                    const std::string& error, const char* fallback_error = "command failed");

// Writes to lldb's output. Command override callbacks get no result object,
// so this is how they talk to the user.
void print(lldb::SBDebugger debugger, std::string_view text);

// Makes process-resuming commands wait for the stop while it lives. The
// plugin switches the server's direction around a resume and must not switch
// it back while the process still runs (interactive lldb is asynchronous).
class SynchronousMode {
 public:
  explicit SynchronousMode(lldb::SBDebugger debugger)
      : debugger_(debugger), was_async_(debugger.GetAsync()) {
    debugger_.SetAsync(false);
  }
  ~SynchronousMode() { debugger_.SetAsync(was_async_); }
  SynchronousMode(const SynchronousMode&) = delete;
  SynchronousMode& operator=(const SynchronousMode&) = delete;

 private:
  lldb::SBDebugger debugger_;
  bool was_async_;
};

// Number of space-separated words in a command name ("process continue": 2).
size_t name_words(std::string_view name);

// Joins argv-style words (the plugin interface's `char** command`) with
// spaces; nullptr is an empty list.
std::string join_words(char** words);

}  // namespace rrx::lldb_plugin
