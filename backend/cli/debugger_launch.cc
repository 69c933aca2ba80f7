#include "cli/debugger_launch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cli/commands.h"
#include "core/spawn.h"
#include "core/tracee_fd.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

std::string self_path() {
  std::string self = read_link("/proc/self/exe");
  return self.empty() ? "rrx" : self;
}

std::string install_prefix() {
  std::string self = self_path();
  size_t slash = self.rfind("/bin/");
  return slash == std::string::npos ? "" : self.substr(0, slash);
}

bool is_lldb(const std::string& debugger) {
  size_t slash = debugger.rfind('/');
  return debugger.find("lldb", slash == std::string::npos ? 0 : slash) != std::string::npos;
}

// gdb's -ex argument text for one word: quoted when needed.
std::string quoted(const std::string& word) {
  if (word.find_first_of(" \t'\"\\") == std::string::npos) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string gdb_plugin_path() { return install_prefix() + "/share/rrx/gdb/rrx.py"; }
std::string lldb_plugin_path() {
  // The build tree keeps it beside bin/; `cmake --install` puts it where
  // lldb-19 loads plugins at startup, which may lie outside the prefix.
  std::string prefix = install_prefix();
  std::string built = prefix + "/lib/rrx/liblldb-rrx.so";
  if (access(built.c_str(), R_OK) == 0) return built;
  // Installed into a staging directory (DESTDIR), that directory holds the
  // plugin's directory too: it is what precedes the configured prefix.
  std::string configured = RRX_INSTALL_PREFIX;
  std::string staging;
  if (prefix.size() > configured.size() &&
      prefix.compare(prefix.size() - configured.size(), configured.size(), configured) == 0) {
    staging = prefix.substr(0, prefix.size() - configured.size());
  }
  return staging + RRX_LLDB_PLUGIN_DIR "/liblldb-rrx.so";
}

int launch_debugger(const DebuggerLaunch& launch) {
  // Check the trace here, so a bad one is one clear line, not a debugger
  // session that fails to connect.
  std::string error;
  if (!TraceReader::open(launch.trace, &error)) return usage_error(error);
  std::string debugger = launch.debugger;
  if (is_lldb(debugger) && debugger == "lldb" && find_program("lldb").empty()) debugger = "lldb-19";
  std::string path = find_program(debugger);
  if (path.empty()) return usage_error("cannot find debugger '" + debugger + "'");

  std::vector<std::string> argv;
  std::string replay_args;
  if (!launch.process.empty()) replay_args += "-p " + quoted(launch.process) + " ";
  if (launch.start_event) replay_args += "-g " + std::to_string(launch.start_event) + " ";
  replay_args += quoted(launch.trace);
  setenv("RRX_BIN", self_path().c_str(), 1);
  if (is_lldb(debugger)) {
    if (launch.fullname || !launch.interpreter.empty()) {
      return usage_error("replay: --fullname and -i are gdb options; lldb has neither");
    }
    argv = {path, "-O", "plugin load " + lldb_plugin_path(), "-O", "replay " + replay_args};
    // The replay stops at its end (a stop, not an exit): the whole
    // history stays there to go back through.
    if (launch.goto_exit) argv.insert(argv.end(), {"-O", "process continue"});
    if (!launch.script.empty()) argv.insert(argv.end(), {"-s", launch.script});
    // lldb runs commands it reads from a pipe asynchronously (a `c` returns
    // before the stop, and the next command finds the process running);
    // those of a sourced file it runs one after the other.
    if (!isatty(STDIN_FILENO)) argv.insert(argv.end(), {"-s", "/dev/stdin"});
  } else {
    argv = {path};
    if (launch.fullname) argv.push_back("--fullname");
    if (!launch.interpreter.empty()) argv.push_back("--interpreter=" + launch.interpreter);
    argv.insert(argv.end(), {"-q", "-l", "10000", "-ex", "set sysroot /", "-ex",
                             "source " + gdb_plugin_path(), "-ex", "rr-replay " + replay_args});
    if (launch.goto_exit) argv.insert(argv.end(), {"-ex", "continue"});
    if (!launch.script.empty()) argv.insert(argv.end(), {"-x", launch.script});
  }
  argv.insert(argv.end(), launch.extra_args.begin(), launch.extra_args.end());
  std::vector<char*> c_argv;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  execv(path.c_str(), c_argv.data());
  return usage_error("cannot run " + path + ": " + strerror(errno));
}

}  // namespace rrx
