#include "core/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace rrx {

namespace {

constexpr long kPtraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
                                PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                                PTRACE_O_TRACEEXIT;

bool is_executable_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

[[noreturn]] void child_main(const SpawnOptions& options, int go_fd) {
  personality(ADDR_NO_RANDOMIZE);
  for (size_t r = 0; r < options.rlimit_cur.size(); ++r) {
    struct rlimit lim = {options.rlimit_cur[r], options.rlimit_max[r]};
    setrlimit(static_cast<__rlimit_resource>(r), &lim);
  }
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV);
  char go;
  if (read(go_fd, &go, 1) != 1) _exit(127);
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(options.path.c_str(), argv.data());
  _exit(127);
}

}  // namespace

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return is_executable_file(program) ? program : "";
  }
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

pid_t spawn_traced(const SpawnOptions& options, std::string* error) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return -1;
  }
  if (pid == 0) {
    close(go[1]);
    child_main(options, go[0]);
  }
  close(go[0]);
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kPtraceOptions)) != 0) {
    *error = std::string("ptrace(PTRACE_SEIZE): ") + strerror(errno);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  char byte = 1;
  ssize_t written = write(go[1], &byte, 1);
  close(go[1]);
  if (written != 1) {
    *error = "cannot start the tracee";
    return -1;
  }
  return pid;
}

}  // namespace rrx
