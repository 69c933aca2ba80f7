#include "core/spawn.h"

#include <elf.h>
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

#include "core/seccomp_filter.h"

namespace rrx {

namespace {

constexpr long kPtraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
                                PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                                PTRACE_O_TRACEEXIT | PTRACE_O_TRACESECCOMP;

bool is_executable_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// What the child execs, prepared before fork: the recorder may have other
// threads, so the child must not allocate.
struct ExecArgs {
  std::vector<std::string> env_storage;
  std::vector<char*> argv, envp;
};

ExecArgs prepare_exec(const SpawnOptions& options) {
  ExecArgs a;
  for (char** e = environ; *e; ++e) a.env_storage.push_back(*e);
  for (const std::string& arg : options.argv) a.argv.push_back(const_cast<char*>(arg.c_str()));
  a.argv.push_back(nullptr);
  for (std::string& var : a.env_storage) a.envp.push_back(var.data());
  a.envp.push_back(nullptr);
  return a;
}

// Gives the child the dispositions the program must start with (exec keeps
// only "ignored"; handlers become defaults anyway).
void set_start_dispositions(uint64_t ignored) {
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, (ignored >> (sig - 1)) & 1 ? SIG_IGN : SIG_DFL);  // EINVAL for libc's own: fine
  }
}

[[noreturn]] void child_main(const SpawnOptions& options, ExecArgs& exec_args, int go_fd) {
  personality(ADDR_NO_RANDOMIZE);
  set_start_dispositions(options.ignored_signals);
  for (size_t r = 0; r < options.rlimit_cur.size(); ++r) {
    struct rlimit lim = {options.rlimit_cur[r], options.rlimit_max[r]};
    setrlimit(static_cast<__rlimit_resource>(r), &lim);
  }
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV);
  char go;
  if (read(go_fd, &go, 1) != 1) _exit(127);
  // Last: from here on every syscall stops for the tracer.
  if (options.syscall_filter && !install_syscall_buffer_filter()) _exit(126);
  execve(options.path.c_str(), exec_args.argv.data(), exec_args.envp.data());
  _exit(127);
}

}  // namespace

std::string why_not_runnable(const std::string& program) {
  struct stat st;
  if (program.find('/') == std::string::npos || stat(program.c_str(), &st) != 0) {
    return "cannot find program '" + program + "'";
  }
  if (S_ISDIR(st.st_mode)) return "'" + program + "' is a directory, not a program";
  return "'" + program + "' is not an executable file";
}

std::string why_not_recordable(const std::string& path) {
  unsigned char ident[EI_NIDENT] = {};
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";  // unreadable: the kernel decides at exec
  bool whole = read(fd, ident, sizeof ident) == sizeof ident;
  close(fd);
  if (!whole || memcmp(ident, ELFMAG, SELFMAG) != 0) return "";  // a script
  if (ident[EI_CLASS] == ELFCLASS32) {
    return "'" + path + "' is a 32-bit program; rrx records x86-64 programs only";
  }
  if (ident[EI_CLASS] != ELFCLASS64) return "'" + path + "' is not an x86-64 program";
  return "";
}

uint64_t ignored_signals_now() {
  uint64_t ignored = 0;
  for (int sig = 1; sig <= 64; ++sig) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) ignored |= 1ULL << (sig - 1);
  }
  return ignored;
}

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
  ExecArgs exec_args = prepare_exec(options);
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return -1;
  }
  if (pid == 0) {
    close(go[1]);
    child_main(options, exec_args, go[0]);
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
  if (options.syscall_filter) {
    // The filter's first stop is the execve itself: let it go on.
    int status;
    if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status) ||
        status >> 16 != PTRACE_EVENT_SECCOMP) {
      *error = "cannot install the syscall buffering filter (seccomp); record with -n";
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, __WALL);
      return -1;
    }
    ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  }
  return pid;
}

}  // namespace rrx
