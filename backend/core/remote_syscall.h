// Runs a syscall inside a stopped tracee, on the tracer's behalf.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>

#include "core/task.h"

namespace rrx {

// Makes `task` execute syscall `number` with `args` at its syscall gadget
// (two syscall stops), or for the calls that only shape memory and fds at
// its untraced syscall (one single step), then restores every register.
// The task must be at a syscall-exit stop (or another stop where returning
// to user space is harmless) and have a gadget. `at_entry`, if given, runs
// at the call's entry stop (a signal meant for the call, not for the way
// there, is sent then). Returns the syscall's result (-errno on failure);
// sets *ok false if ptrace itself failed (e.g. the task died).
int64_t remote_syscall(Task& task, int number, std::initializer_list<uint64_t> args,
                       bool* ok, const std::function<void()>& at_entry = nullptr);

// Scratch memory for remote syscall arguments: bytes written well below
// the tracee's stack pointer (past the red zone) and put back afterwards.
class StackScratch {
 public:
  explicit StackScratch(Task& task);
  ~StackScratch();
  // Copies `data` into the scratch area; returns its tracee address.
  uint64_t push(const std::string& data);
  // Leaves the pushed bytes in place (e.g. an execve discards the stack).
  void keep() { saved_.clear(); }

 private:
  Task& task_;
  uint64_t base_ = 0;
  uint64_t used_ = 0;
  std::string saved_;
};

}  // namespace rrx
