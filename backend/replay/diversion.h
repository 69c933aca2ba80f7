// A diversion: a throwaway copy of the debugged process (a fork of it at
// the current point) where the debugger may write registers and memory and
// run code (gdb's `print f(3)`, `call`, `set var`), as rr's diversion
// sessions do. The recorded replay is not touched; the copy is killed when
// the replay moves on. The copy runs natively: its syscalls are real.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/task.h"

namespace rrx {

class Diversion {
 public:
  // Forks `task`'s process; nullptr and *error if that cannot be done here
  // (e.g. the thread is inside a syscall).
  static std::unique_ptr<Diversion> start(Task& task, std::string* error);
  ~Diversion();
  Diversion(const Diversion&) = delete;
  Diversion& operator=(const Diversion&) = delete;

  Task& task() { return task_; }

  enum class Outcome { kBreakpoint, kStepped, kSignal, kGone };
  struct Stop {
    Outcome outcome = Outcome::kGone;
    int signal = 0;  // kSignal
  };
  // The int3s in the copy (its caller writes them, at executed
  // addresses), with the program's byte under each.
  using Breakpoints = std::map<uint64_t, uint8_t>;
  // Runs the copy until a breakpoint (its pc set back onto it), the end
  // of a single step, a signal, or its end. `interrupted` is polled while
  // it runs: once true the copy is stopped and the stop is SIGINT.
  Stop run(bool single_step, int signal, const Breakpoints& breakpoints,
           const std::function<bool()>& interrupted);

 private:
  explicit Diversion(pid_t pid) : task_(pid) {}
  Stop wait_for_stop(bool single_step, const Breakpoints& breakpoints,
                     const std::function<bool()>& interrupted = nullptr);

  Task task_;
  bool gone_ = false;
};

}  // namespace rrx
