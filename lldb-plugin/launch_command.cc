#include "launch_command.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command_runner.h"
#include "reverse_engine.h"

namespace rrx::lldb_plugin {
namespace {

std::string to_hex(std::string_view text) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : text) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

std::string from_hex(std::string_view hex) {
  std::string text;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    text += static_cast<char>(strtol(std::string(hex.substr(i, 2)).c_str(), nullptr, 16));
  }
  return text;
}

// What `process launch` was asked for, as far as a replay can honour it.
struct LaunchRequest {
  bool stop_at_entry = false;       // -s: stay at the first instruction
  bool stop_at_user_entry = false;  // -m: run to main
  std::vector<std::string> run_args;
};

// lldb's `process launch` options that take a value in the next word.
bool takes_value(std::string_view option) {
  for (std::string_view o : {"-a", "-A", "-E", "-P", "-e", "-i", "-o", "-w", "-C", "-k", "-v",
                             "-X", "--arch", "--disable-aslr", "--environment", "--plugin",
                             "--stderr", "--stdin", "--stdout", "--working-dir",
                             "--script-class", "--structured-data-key",
                             "--structured-data-value", "--shell-expand-args"}) {
    if (option == o) return true;
  }
  return false;
}

// argv: the command's name words, then its words as typed (`run 5` arrives
// as `process launch -c /bin/bash -- 5`). Options other than -s and -m
// (shell, environment, redirections) mean nothing to a recording.
LaunchRequest parse(const char** argv) {
  LaunchRequest request;
  const char** arg = argv;
  for (size_t words = 0; words < name_words("process launch") && *arg; ++words) ++arg;
  bool options = true;
  for (; *arg; ++arg) {
    std::string_view word = *arg;
    if (!options || !word.starts_with("-")) {
      request.run_args.emplace_back(word);
    } else if (word == "--") {
      options = false;
    } else if (word == "-s" || word == "--stop-at-entry") {
      request.stop_at_entry = true;
    } else if (word == "-m" || word == "--stop-at-user-entry") {
      request.stop_at_user_entry = true;
    } else if (takes_value(word) && arg[1]) {
      ++arg;
    }
  }
  return request;
}

// Sends vRun (gdb's `run` on an extended-remote target: rrx restarts the
// replay, at event `event`), raw: lldb-19 sends vRun only to launch a
// process of its own. nullopt on success, else the server's message.
std::optional<std::string> restart_replay(lldb::SBDebugger debugger, uint64_t event) {
  std::string packet = "vRun;";
  if (event > 0) packet += ";" + to_hex(std::to_string(event));
  CommandResult result = run_command(debugger, "process plugin packet send " + packet);
  size_t at = result.output.find("response: ");
  std::string response = at == std::string::npos ? "" : result.output.substr(at + 10);
  if (!response.empty() && (response[0] == 'T' || response[0] == 'S')) return std::nullopt;
  if (response.starts_with("E") && response.find(';') != std::string::npos) {
    std::string message = from_hex(response.substr(response.find(';') + 1));
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
    return message;
  }
  return "rrx: the replay did not start over (" + (result.ok ? response : result.error) + ")";
}

// Is the selected process an rrx replay? Only rrx accepts QRRXDirection
// (and forward is where it is between the plugin's commands anyway).
bool replaying(lldb::SBDebugger debugger) {
  lldb::SBProcess process = debugger.GetSelectedTarget().GetProcess();
  if (!process.IsValid() || process.GetState() != lldb::eStateStopped) return false;
  CommandResult result = run_command(debugger, "process plugin packet send QRRXDirection:forward");
  return result.ok && result.output.find("response: OK") != std::string::npos;
}

bool launch_override(void* baton, const char** argv) {
  lldb::SBDebugger debugger = *static_cast<lldb::SBDebugger*>(baton);
  if (!replaying(debugger)) return false;  // lldb launches as usual
  LaunchRequest request = parse(argv);
  uint64_t event = 0;
  if (request.run_args.size() > 1 ||
      (request.run_args.size() == 1 &&
       request.run_args[0].find_first_not_of("0123456789") != std::string::npos)) {
    print(debugger, "error: rrx: on a replay, run takes at most one argument: the event to start at\n");
    return true;
  }
  if (request.run_args.size() == 1) event = strtoull(request.run_args[0].c_str(), nullptr, 10);
  std::optional<std::string> error = restart_replay(debugger, event);
  refresh_after_jump(debugger);  // a refused event leaves the replay at its start
  if (error) {
    print(debugger, "error: " + *error + "\n");
    return true;
  }
  lldb::SBProcess process = debugger.GetSelectedTarget().GetProcess();
  print(debugger, "Process " + std::to_string(process.GetProcessID()) + " restarted " +
                      (event ? "at event " + std::to_string(event) : "from the start") +
                      " of the replay\n");
  if (request.stop_at_entry) {
    print(debugger, run_command(debugger, "process status").output);
    return true;
  }
  if (request.stop_at_user_entry) run_command(debugger, "breakpoint set --one-shot true --name main");
  CommandResult result = run_command(debugger, "process continue");
  print(debugger, result.output);
  if (!result.ok) print(debugger, "error: " + result.error + "\n");
  return true;
}

}  // namespace

void add_launch_override(lldb::SBDebugger debugger) {
  // The baton lives as long as the debugger may call the override: forever.
  debugger.GetCommandInterpreter().SetCommandOverrideCallback(
      "process launch", launch_override, new lldb::SBDebugger(debugger));
}

}  // namespace rrx::lldb_plugin
