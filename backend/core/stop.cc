#include "core/stop.h"

#include "core/hw_tick_source.h"
#include "core/proc_status.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace rrx {

namespace {

StopKind syscall_stop_kind(pid_t tid) {
  struct __ptrace_syscall_info info;
  memset(&info, 0, sizeof info);
  ptrace(PTRACE_GET_SYSCALL_INFO, tid,
         reinterpret_cast<void*>(sizeof info), &info);
  return info.op == PTRACE_SYSCALL_INFO_EXIT ? StopKind::kSyscallExit
                                             : StopKind::kSyscallEntry;
}

}  // namespace

Stop decode_stop(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    return {StopKind::kExited, 0, status};
  }
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  switch (event) {
    case 0:
      if (sig == (SIGTRAP | 0x80)) return {syscall_stop_kind(tid), 0, status};
      return {StopKind::kSignal, sig, status};
    case PTRACE_EVENT_STOP:
      return {StopKind::kGroupStop, sig, status};
    case PTRACE_EVENT_SECCOMP:
      // Our filter traces every syscall not buffered in-process: this stop
      // stands where a PTRACE_SYSCALL entry stop would.
      return {StopKind::kSyscallEntry, 0, status};
    case PTRACE_EVENT_EXEC:
      return {StopKind::kExec, 0, status};
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      return {StopKind::kNewTask, 0, status, event};
    case PTRACE_EVENT_VFORK_DONE:
      return {StopKind::kVforkDone, 0, status};
    case PTRACE_EVENT_EXIT:
      return {StopKind::kExiting, 0, status};
    default:
      return {StopKind::kGroupStop, sig, status};
  }
}

pid_t wait_for(pid_t tid, int* status) {
  for (;;) {
    pid_t got = waitpid(tid, status, __WALL);
    if (got > 0) note_tracee_stop(got);
    if (got >= 0 || errno != EINTR) return got;
  }
}

void kill_tracees(const std::vector<pid_t>& tids) {
  for (pid_t tid : tids) syscall(SYS_tkill, tid, SIGKILL);
  // Their thread groups may hold threads the caller does not know yet (a
  // clone whose event it has not handled): those stop at their exit too,
  // and their leader is only reported once they are gone.
  std::vector<pid_t> left = tids;
  for (pid_t tid : tids) {
    DIR* dir = opendir(("/proc/" + std::to_string(tid) + "/task").c_str());
    if (!dir) continue;
    while (struct dirent* entry = readdir(dir)) {
      pid_t other = static_cast<pid_t>(atoi(entry->d_name));
      if (other > 0 && std::find(left.begin(), left.end(), other) == left.end()) {
        left.push_back(other);
      }
    }
    closedir(dir);
  }
  for (int round = 0; !left.empty() && round < 10000; ++round) {
    std::vector<pid_t> still;
    for (pid_t tid : left) {
      int status;
      pid_t got = waitpid(tid, &status, __WALL | WNOHANG);
      if (got < 0) continue;  // gone (reaped, or not ours to wait for)
      if (got == tid && (WIFEXITED(status) || WIFSIGNALED(status))) {
        waitpid(tid, &status, __WALL | WNOHANG);  // the zombie, if ours
        continue;
      }
      if (got == tid) ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      still.push_back(tid);
    }
    left.swap(still);
    if (!left.empty()) usleep(1000);
  }
}

std::string describe_stop(const Stop& stop) {
  switch (stop.kind) {
    case StopKind::kSyscallEntry: return "a syscall entry";
    case StopKind::kSyscallExit: return "a syscall exit";
    case StopKind::kSignal:
      return std::string("signal ") + (sigabbrev_np(stop.sig) ? sigabbrev_np(stop.sig) : "?");
    case StopKind::kGroupStop: return "a group stop";
    case StopKind::kExec: return "an exec";
    case StopKind::kNewTask: return "a fork/clone";
    case StopKind::kVforkDone: return "vfork done";
    case StopKind::kExiting: return "the task exiting";
    case StopKind::kExited:
      if (WIFSIGNALED(stop.status)) {
        return std::string("the task killed by SIG") + sigabbrev_np(WTERMSIG(stop.status));
      }
      return "the task exiting with status " + std::to_string(WEXITSTATUS(stop.status));
  }
  return "an unknown stop";
}

void wait_until_zombie(pid_t tid) {
  for (int tries = 0; tries < 100000; ++tries) {
    std::string state;
    if (!read_stat_field(tid, 3, &state)) return;  // gone altogether
    if (state == "Z" || state == "X") return;
    usleep(10);
  }
}

}  // namespace rrx
