// Starts and tracks `rrx replay --serve TRACE` backends. Each serves one
// debugger connection and exits when it ends; a backend that is still
// waiting for its connection is reused for the same trace.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rrx::lldb_plugin {

struct Backend {
  pid_t pid = 0;
  // What `process connect` takes: unix-connect://PATH or connect://HOST:PORT.
  std::string url;
};

class BackendLauncher {
 public:
  // The rrx executable: the `rr binary` setting, else $RRX_BIN, else
  // bin/rrx of the build tree this plugin was built in, else `rrx` on PATH.
  std::string rrx_binary() const;
  void set_rrx_binary(std::string path) { rrx_binary_ = std::move(path); }

  // A backend serving `trace` ("" for rrx's default, the latest trace);
  // `port` > 0 asks for TCP on 127.0.0.1 instead of a Unix socket.
  // `options` go to `rrx replay` as they are (-p PID|NAME, -g EVENT).
  std::optional<Backend> serve(const std::string& trace, int port,
                               const std::vector<std::string>& options, std::string* error);

  // The trace's saved copy of the recorded executable (of the process
  // that `options` select).
  std::optional<std::string> recorded_executable(const std::string& trace,
                                                 const std::vector<std::string>& options,
                                                 std::string* error);

 private:
  bool alive(pid_t pid);

  std::string rrx_binary_;
  std::map<std::string, Backend> backends_;  // by canonical trace path
};

}  // namespace rrx::lldb_plugin
