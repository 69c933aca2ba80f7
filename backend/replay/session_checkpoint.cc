#include "replay/session_checkpoint.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/remote_syscall.h"
#include "core/stop.h"

namespace rrx {

SessionCheckpoint::~SessionCheckpoint() {
  for (auto& [tid, copy] : tasks) kill_tracee(copy.pid);
}

pid_t fork_stopped_copy(Task& task, std::string* error) {
  Registers regs;
  if (!task.get_regs(&regs)) {
    *error = "cannot read registers of thread " + std::to_string(task.tid());
    return -1;
  }
  bool ok;
  int64_t child = remote_syscall(task, SYS_fork, {}, &ok);
  if (!ok || child <= 0) {
    *error = "cannot fork thread " + std::to_string(task.tid()) + " for a checkpoint";
    return -1;
  }
  // The child is traced (PTRACE_O_TRACEFORK) and starts with a stop.
  int status;
  if (waitpid(static_cast<pid_t>(child), &status, __WALL) != child) {
    *error = "the checkpoint copy vanished";
    return -1;
  }
  Task copy(static_cast<pid_t>(child));
  copy.set_regs(regs);
  return static_cast<pid_t>(child);
}

}  // namespace rrx
