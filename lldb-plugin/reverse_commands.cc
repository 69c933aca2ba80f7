#include "reverse_commands.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "command_runner.h"
#include "reverse_engine.h"
#include "source_stepping.h"

namespace rrx::lldb_plugin {
namespace {

// lldb cuts the output of an interrupted command short ("... Interrupted."
// after its first line, none when made after Ctrl-C): then say so and
// show where the run stopped (stop reason SIGINT, or that of the last of
// a step's runs when Ctrl-C came between two).
bool finish_run(lldb::SBDebugger debugger, lldb::SBCommandReturnObject& result, bool ok,
                const std::string& output, const std::string& error) {
  if (!InterruptForwarder::interrupted()) {
    return finish_command(result, ok, output, error, "reverse execution failed");
  }
  print(debugger, "Interrupted.\n" + run_despite_interrupt(debugger, "process status").output);
  return finish_command(result, ok, "", error, "reverse execution failed");
}

// An lldb resume command run with the server in reverse.
class ResumeBackwards : public lldb::SBCommandPluginInterface {
 public:
  explicit ResumeBackwards(std::string command) : command_(std::move(command)) {}

  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    std::string line = command_;
    if (std::string extra = join_words(args); !extra.empty()) line += " " + extra;
    std::string output, error;
    bool ok = run_reversed(debugger, line, &output, &error);
    return finish_run(debugger, result, ok, output, error);
  }

 private:
  std::string command_;
};

class SourceStepBackwards : public lldb::SBCommandPluginInterface {
 public:
  explicit SourceStepBackwards(SourceStep kind) : kind_(kind) {}

  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    if (args && *args) {
      result.SetError("this command takes no arguments");
      return false;
    }
    std::string output, error;
    bool ok = reverse_source_step(debugger, kind_, &output, &error);
    return finish_run(debugger, result, ok, output, error);
  }

 private:
  SourceStep kind_;
};

// Baton of a -R override: which built-in command it stands in front of.
struct ReverseFlagOverride {
  lldb::SBDebugger debugger;
  std::string command;
};

// The override sees the command's full name split into words ("process",
// "continue"), then the arguments as typed, before lldb parses options.
// Without -R it declines and lldb runs the built-in; with -R it runs the
// built-in, minus -R, in reverse.
bool reverse_flag_override(void* baton, const char** argv) {
  auto* override = static_cast<ReverseFlagOverride*>(baton);
  bool reverse = false;
  std::string line = override->command;
  const char** arg = argv;
  for (size_t words = 0; words < name_words(override->command) && *arg; ++words) ++arg;
  for (; *arg; ++arg) {
    std::string_view word = *arg;
    if (word == "-R" || word == "--reverse") {
      reverse = true;
    } else {
      line += " " + std::string(word);
    }
  }
  if (!reverse) return false;
  std::string output, error;
  bool ok = run_reversed(override->debugger, line, &output, &error);
  print(override->debugger, output);
  if (!ok) print(override->debugger, "error: " + error + "\n");
  return true;
}

struct CommandSpec {
  const char* name;
  const char* alias;
  const char* help;
  const char* syntax;
  lldb::SBCommandPluginInterface* impl;
};

}  // namespace

void add_reverse_commands(lldb::SBDebugger debugger) {
  lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
  const CommandSpec specs[] = {
      {"reverse-continue", "rc",
       "Run the replay backwards until a breakpoint or watchpoint triggers or the start "
       "of the recording is reached. Same as `process continue -R`.",
       "reverse-continue", new ResumeBackwards("process continue")},
      {"reverse-stepi", "rsi",
       "Step one instruction backwards. Same as `thread step-inst -R`.",
       "reverse-stepi", new ResumeBackwards("thread step-inst")},
      {"reverse-step", "rs",
       "Run backwards to the start of the previous source line, entering functions "
       "called on it (they are entered at their last line).",
       "reverse-step", new SourceStepBackwards(SourceStep::kStep)},
      {"reverse-next", "rn",
       "Run backwards to the start of the previous source line, stepping back over "
       "function calls.",
       "reverse-next", new SourceStepBackwards(SourceStep::kNext)},
      {"reverse-finish", "rf",
       "Run backwards to the call instruction that called the current function.",
       "reverse-finish", new SourceStepBackwards(SourceStep::kFinish)},
  };
  for (const CommandSpec& spec : specs) {
    interpreter.AddCommand(spec.name, spec.impl, spec.help, spec.syntax);
    run_command(debugger, std::string("command alias ") + spec.alias + " " + spec.name);
  }
  // Batons live as long as the debugger may call the overrides: forever.
  for (const char* command : {"process continue", "thread step-inst"}) {
    auto* baton = new ReverseFlagOverride{debugger, command};
    interpreter.SetCommandOverrideCallback(command, reverse_flag_override, baton);
  }
}

}  // namespace rrx::lldb_plugin
