#include "replay_commands.h"

#include <climits>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "backend_launcher.h"
#include "command_runner.h"

namespace rrx::lldb_plugin {
namespace {

constexpr std::string_view kReplayScheme = "replay://";

std::string real_path(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) ? resolved : path;
}

// The selected target if it is for `exe` and has no live process, else a
// new target for `exe`.
lldb::SBTarget target_for(lldb::SBDebugger debugger, const std::string& exe, std::string* error) {
  lldb::SBTarget target = debugger.GetSelectedTarget();
  if (target.IsValid() && !target.GetProcess().IsValid()) {
    char path[PATH_MAX];
    if (target.GetExecutable().GetPath(path, sizeof path) > 0 && real_path(path) == real_path(exe)) {
      return target;
    }
  }
  target = debugger.CreateTarget(exe.c_str());
  if (!target.IsValid()) {
    *error = "cannot create a target from the recorded executable " + exe;
    return target;
  }
  debugger.SetSelectedTarget(target);
  return target;
}

bool start_replay(lldb::SBDebugger debugger, BackendLauncher& launcher, const std::string& trace,
                  int port, const std::vector<std::string>& options, std::string* output,
                  std::string* error) {
  auto exe = launcher.recorded_executable(trace, options, error);
  if (!exe) return false;
  auto backend = launcher.serve(trace, port, options, error);
  if (!backend) return false;
  if (!target_for(debugger, *exe, error).IsValid()) return false;
  SynchronousMode synchronous(debugger);
  CommandResult result = run_command(debugger, "process connect -p gdb-remote " + backend->url);
  *output = result.output;
  if (!result.ok) {
    *error = "cannot connect to the replay at " + backend->url + ": " + result.error;
    return false;
  }
  return true;
}

constexpr const char* kReplayUsage = "replay [-s PORT] [-p PID|NAME] [-g EVENT] [TRACE]";

// `replay` and `rr replay`: [-s PORT] [-p PID|NAME] [-g EVENT] [TRACE].
class ReplayCommand : public lldb::SBCommandPluginInterface {
 public:
  explicit ReplayCommand(BackendLauncher* launcher) : launcher_(launcher) {}

  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    int port = 0;
    std::string trace;
    std::vector<std::string> options;  // for rrx replay: -p PID|NAME, -g EVENT
    for (char** arg = args; arg && *arg; ++arg) {
      std::string_view word = *arg;
      if ((word == "-s" || word == "--port") && arg[1]) {
        port = atoi(*++arg);
      } else if ((word == "-p" || word == "-g") && arg[1]) {
        options.emplace_back(word);
        options.emplace_back(*++arg);
      } else if (trace.empty() && !word.starts_with("-")) {
        trace = word;
      } else {
        result.SetError((std::string("usage: ") + kReplayUsage).c_str());
        return false;
      }
    }
    std::string output, error;
    bool ok = start_replay(debugger, *launcher_, trace, port, options, &output, &error);
    return finish_command(result, ok, output, error);
  }

 private:
  BackendLauncher* launcher_;
};

class BinaryCommand : public lldb::SBCommandPluginInterface {
 public:
  explicit BinaryCommand(BackendLauncher* launcher) : launcher_(launcher) {}

  bool DoExecute(lldb::SBDebugger, char** args, lldb::SBCommandReturnObject& result) override {
    if (args && *args) launcher_->set_rrx_binary(*args);
    result.Printf("rrx executable: %s\n", launcher_->rrx_binary().c_str());
    result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
    return true;
  }

 private:
  BackendLauncher* launcher_;
};

struct ConnectOverride {
  lldb::SBDebugger debugger;
  BackendLauncher* launcher;
};

// `process connect [options] URL`: takes replay:// URLs, declines others
// (argv[0] is the command's name; options come unparsed).
bool connect_override(void* baton, const char** argv) {
  auto* override = static_cast<ConnectOverride*>(baton);
  for (const char** arg = argv + 1; *arg; ++arg) {
    std::string_view url = *arg;
    if (!url.starts_with(kReplayScheme)) continue;
    std::string output, error;
    bool ok = start_replay(override->debugger, *override->launcher,
                           std::string(url.substr(kReplayScheme.size())), 0, {}, &output,
                           &error);
    print(override->debugger, output);
    if (!ok) print(override->debugger, "error: " + error + "\n");
    return true;
  }
  return false;
}

}  // namespace

void add_replay_commands(lldb::SBDebugger debugger) {
  // One launcher for the plugin's lifetime: it remembers running backends.
  static BackendLauncher launcher;
  lldb::SBCommandInterpreter interpreter = debugger.GetCommandInterpreter();
  const char* replay_help =
      "Replay an rrx trace (default: the latest one): starts `rrx replay --serve TRACE`, "
      "creates the target from the recorded executable and connects. -s PORT serves on "
      "127.0.0.1:PORT instead of a private Unix socket; -p PID|NAME debugs that process "
      "of the recording, -g EVENT starts at that event (as `rrx replay`).";
  interpreter.AddCommand("replay", new ReplayCommand(&launcher), replay_help, kReplayUsage);
  lldb::SBCommand rr = interpreter.AddMultiwordCommand("rr", "rrx record-and-replay commands.");
  rr.AddCommand("replay", new ReplayCommand(&launcher), replay_help,
                "rr replay [-s PORT] [-p PID|NAME] [-g EVENT] [TRACE]");
  rr.AddCommand("binary", new BinaryCommand(&launcher),
                "Show or set the rrx executable that serves replays (default: $RRX_BIN, else "
                "the build tree's bin/rrx next to this plugin, else rrx on PATH).",
                "rr binary [PATH]");
  interpreter.SetCommandOverrideCallback("process connect", connect_override,
                                         new ConnectOverride{debugger, &launcher});
}

}  // namespace rrx::lldb_plugin
