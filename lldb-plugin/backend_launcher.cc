#include "backend_launcher.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace rrx::lldb_plugin {
namespace {

// bin/rrx of the build tree, when this plugin is build/lib/rrx/liblldb-rrx.so.
std::string build_tree_rrx() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&build_tree_rrx), &info) || !info.dli_fname) return "";
  std::filesystem::path plugin(info.dli_fname);
  std::filesystem::path rrx = plugin.parent_path().parent_path().parent_path() / "bin" / "rrx";
  return access(rrx.c_str(), X_OK) == 0 ? rrx.string() : "";
}

std::string canonical_trace(const std::string& trace) {
  char resolved[PATH_MAX];
  return !trace.empty() && realpath(trace.c_str(), resolved) ? resolved : trace;
}

// A child running `argv` with its stdout on a pipe; stdin and stderr are
// lldb's. The child gets SIGTERM if lldb dies before it connects.
struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
};

Child spawn(const std::vector<std::string>& args, std::string* error) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("cannot create a pipe: ") + strerror(errno);
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], STDOUT_FILENO);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    *error = std::string("cannot fork: ") + strerror(errno);
    return {};
  }
  return {pid, fds[0]};
}

// Reads one line (without its newline); nullopt at end of file before one.
std::optional<std::string> read_line(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1) {
    if (c == '\n') return line;
    line += c;
  }
  if (line.empty()) return std::nullopt;
  return line;
}

std::string describe_exit(const std::string& command, pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return command + ": cannot run it";
  if (WIFEXITED(status)) return command + " failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  return command + " died with signal " + std::to_string(WTERMSIG(status));
}

// The backend keeps writing to stdout (the replayed program's output may
// go there); copy it to lldb's stdout so the pipe never fills up.
void forward_rest(int fd) {
  std::thread([fd] {
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) {
      if (write(STDOUT_FILENO, buffer, n) < 0) break;
    }
    close(fd);
  }).detach();
}

}  // namespace

std::string BackendLauncher::rrx_binary() const {
  if (!rrx_binary_.empty()) return rrx_binary_;
  if (const char* env = getenv("RRX_BIN"); env && *env) return env;
  std::string built = build_tree_rrx();
  return built.empty() ? "rrx" : built;
}

bool BackendLauncher::alive(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

std::optional<Backend> BackendLauncher::serve(const std::string& trace, int port,
                                              const std::vector<std::string>& options,
                                              std::string* error) {
  std::string key = canonical_trace(trace);
  for (const std::string& option : options) key += "\n" + option;
  if (auto it = backends_.find(key); it != backends_.end()) {
    if (alive(it->second.pid)) return it->second;
    backends_.erase(it);
  }
  std::vector<std::string> args = {rrx_binary(), "replay", "--serve"};
  if (port > 0) {
    args.push_back("-s");
    args.push_back(std::to_string(port));
  }
  args.insert(args.end(), options.begin(), options.end());
  if (!trace.empty()) args.push_back(trace);
  std::string command = args[0] + " replay --serve";
  Child child = spawn(args, error);
  if (child.pid < 0) return std::nullopt;

  // "rrx: serving TRACE on unix:PATH" or "... on 127.0.0.1:PORT"
  auto line = read_line(child.stdout_fd);
  if (!line) {
    close(child.stdout_fd);
    *error = describe_exit(command, child.pid);
    return std::nullopt;
  }
  forward_rest(child.stdout_fd);
  size_t on = line->rfind(" on ");
  if (line->rfind("rrx: serving ", 0) != 0 || on == std::string::npos) {
    kill(child.pid, SIGTERM);
    waitpid(child.pid, nullptr, 0);
    *error = command + " printed an unexpected first line: " + *line;
    return std::nullopt;
  }
  std::string address = line->substr(on + 4);
  Backend backend{child.pid, address.rfind("unix:", 0) == 0
                                 ? "unix-connect://" + address.substr(5)
                                 : "connect://" + address};
  backends_[key] = backend;
  return backend;
}

std::optional<std::string> BackendLauncher::recorded_executable(
    const std::string& trace, const std::vector<std::string>& options, std::string* error) {
  std::vector<std::string> args = {rrx_binary(), "replay", "--info-exe"};
  args.insert(args.end(), options.begin(), options.end());
  if (!trace.empty()) args.push_back(trace);
  Child child = spawn(args, error);
  if (child.pid < 0) return std::nullopt;
  auto line = read_line(child.stdout_fd);
  close(child.stdout_fd);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (!line || line->empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = args[0] + " replay --info-exe failed" +
             (WIFEXITED(status) ? " (exit status " + std::to_string(WEXITSTATUS(status)) + ")" : "");
    return std::nullopt;
  }
  return line;
}

}  // namespace rrx::lldb_plugin
