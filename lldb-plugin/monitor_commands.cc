#include "monitor_commands.h"

#include <sstream>
#include <string>

#include "command_runner.h"
#include "reverse_engine.h"

namespace rrx::lldb_plugin {
namespace {

// Sends `command` with `process plugin packet monitor`, whose output is the
// server's text followed by "  packet: qRcmd,..." and "response: ...".
bool send_monitor(lldb::SBDebugger debugger, const std::string& command, std::string* output,
                  std::string* error) {
  if (!debugger.GetSelectedTarget().GetProcess().IsValid()) {
    *error = "no replay is connected (start one with `replay TRACE`)";
    return false;
  }
  CommandResult result = run_command(debugger, "process plugin packet monitor " + command);
  std::istringstream lines(result.output);
  std::string line, response;
  while (std::getline(lines, line)) {
    if (line.rfind("  packet: ", 0) == 0) continue;
    if (line.rfind("response: ", 0) == 0) {
      response = line.substr(10);
      continue;
    }
    *output += line + "\n";
  }
  if (result.ok && response == "OK") return true;
  *error = "rrx: `" + command + "` failed";
  if (!result.error.empty()) *error += ": " + result.error;
  return false;
}

// A command whose words become the monitor command: `prefix args...`.
class MonitorCommand : public lldb::SBCommandPluginInterface {
 public:
  enum class Arguments { kNone, kNumber };

  MonitorCommand(std::string prefix, Arguments arguments, bool jumps = false)
      : prefix_(std::move(prefix)), arguments_(arguments), jumps_(jumps) {}

  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    std::string command = prefix_;
    if (!accept(args, &command)) {
      result.SetError(arguments_ == Arguments::kNone ? "this command takes no arguments"
                                                     : "expected one number");
      return false;
    }
    std::string output, error;
    bool ok = send_monitor(debugger, command, &output, &error);
    if (ok && jumps_) {
      refresh_after_jump(debugger);
      output += run_command(debugger, "frame select 0").output;
    }
    return finish_command(result, ok, output, error);
  }

 private:
  bool accept(char** args, std::string* command) const {
    int count = 0;
    for (char** arg = args; arg && *arg; ++arg) ++count;
    if (arguments_ == Arguments::kNone) return count == 0;
    if (count != 1 || std::string(args[0]).find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *command += std::string(" ") + args[0];
    return true;
  }

  std::string prefix_;
  Arguments arguments_;
  bool jumps_;
};

// `checkpoint` makes one; `checkpoint list` lists them.
class CheckpointCommand : public lldb::SBCommandPluginInterface {
 public:
  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    std::string word = args && *args ? *args : "";
    if ((!word.empty() && word != "list") || (args && *args && args[1])) {
      result.SetError("usage: checkpoint [list]");
      return false;
    }
    MonitorCommand command(word.empty() ? "checkpoint" : "info checkpoints",
                           MonitorCommand::Arguments::kNone);
    return command.DoExecute(debugger, nullptr, result);
  }
};

// `spin-off [--live]`: a copy of the process here (docs/spin-off.md).
class SpinOffCommand : public lldb::SBCommandPluginInterface {
 public:
  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    std::string word = args && *args ? *args : "";
    if ((!word.empty() && word != "--live") || (args && *args && args[1])) {
      result.SetError("usage: spin-off [--live]");
      return false;
    }
    MonitorCommand command(word.empty() ? "spin-off" : "spin-off --live",
                           MonitorCommand::Arguments::kNone);
    return command.DoExecute(debugger, nullptr, result);
  }
};

}  // namespace

void add_monitor_commands(lldb::SBDebugger debugger) {
  using Arguments = MonitorCommand::Arguments;
  lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
  interpreter.AddCommand("when", new MonitorCommand("when", Arguments::kNone),
                         "Show the current event number of the replay.", "when");
  interpreter.AddCommand("when-ticks", new MonitorCommand("when-ticks", Arguments::kNone),
                         "Show the current tick count of the replay.", "when-ticks");
  interpreter.AddCommand("when-end", new MonitorCommand("when-end", Arguments::kNone),
                         "Show the number of the trace's last event.", "when-end");
  interpreter.AddCommand("elapsed-time", new MonitorCommand("elapsed-time", Arguments::kNone),
                         "Show the recording's time at the current event: seconds since it "
                         "started.",
                         "elapsed-time");
  interpreter.AddCommand("seek-ticks", new MonitorCommand("seek-ticks", Arguments::kNumber, true),
                         "Move the replay to where the debugged process's tick count is N.",
                         "seek-ticks N");
  interpreter.AddCommand("when-tid", new MonitorCommand("when-tid", Arguments::kNone),
                         "Show the thread id the replay is positioned in.", "when-tid");
  interpreter.AddCommand("checkpoint", new CheckpointCommand(),
                         "Make a checkpoint of the current point of the replay (go back to it "
                         "with `restart N`); `checkpoint list` lists the checkpoints.",
                         "checkpoint [list]");
  interpreter.AddCommand("spin-off", new SpinOffCommand(),
                         "Copy the debugged process here into a process of its own, stopped "
                         "(--live: its syscalls run for real); prints its pid and state as JSON.",
                         "spin-off [--live]");
  interpreter.AddCommand("restart", new MonitorCommand("restart", Arguments::kNumber, true),
                         "Move the replay to checkpoint N.", "restart N");
  lldb::SBCommand info = interpreter.AddMultiwordCommand("info", "rrx: gdb-style info commands.");
  info.AddCommand("checkpoints", new MonitorCommand("info checkpoints", Arguments::kNone),
                  "List the replay's checkpoints.", "info checkpoints");
  lldb::SBCommand del = interpreter.AddMultiwordCommand("delete", "rrx: gdb-style delete commands.");
  del.AddCommand("checkpoint", new MonitorCommand("delete checkpoint", Arguments::kNumber),
                 "Delete checkpoint N.", "delete checkpoint N");
}

}  // namespace rrx::lldb_plugin
