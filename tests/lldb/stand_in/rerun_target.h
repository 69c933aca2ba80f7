// A DebugTarget for the lldb plugin's tests that needs no trace: it runs a
// small syscall-free program under ptrace and treats "number of single
// steps since exec" as the position in the recording. Going backwards
// relaunches the program and steps forward again, which is rr's idea in
// miniature and keeps registers and memory exactly right at every point, so
// lldb's unwinding and line tables behave as they will with the real
// replay engine.
//
// The program must make no syscall but its final exit; reaching that
// syscall instruction is the end of the "recording".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "gdbserver/debug_target.h"

namespace rrx::stand_in {

class RerunTarget : public DebugTarget {
 public:
  explicit RerunTarget(std::string exe) : exe_(std::move(exe)) {}
  ~RerunTarget() override;

  // Launches the program, stopped at its first instruction (position 0).
  bool start(std::string* error);

  std::vector<ThreadId> threads() override { return {id_}; }
  ThreadId current_thread() override { return id_; }
  bool read_registers(const ThreadId& thread, RegisterFile* regs) override;
  bool write_registers(const ThreadId&, const RegisterFile&, std::string* error) override;
  std::vector<uint8_t> read_memory(uint64_t address, size_t length) override;
  bool write_memory(uint64_t, const std::vector<uint8_t>&, std::string* error) override;
  bool insert_breakpoint(BreakpointKind kind, uint64_t address, size_t length) override;
  bool remove_breakpoint(BreakpointKind kind, uint64_t address, size_t length) override;
  StopReason resume(const ResumeRequest& request) override;
  std::vector<uint8_t> auxv() override;
  std::string exec_file() override { return exe_; }
  std::string libraries_svr4_xml() override { return ""; }
  std::vector<uint8_t> siginfo(const ThreadId&) override { return {}; }
  bool memory_region(uint64_t address, MemoryRegion* region) override;
  bool monitor(const std::string& command, std::string* output) override;

 private:
  bool launch();
  void kill_tracee();
  uint64_t pc();
  bool at_end();
  bool step();
  // Moves to `position`, relaunching if it lies behind the current one.
  bool go_to(uint64_t position);
  StopReason forward(bool single_step, const ResumeRequest& request);
  StopReason backward(bool single_step);
  StopReason stop(StopReason::Kind kind) { return {.kind = kind, .thread = id_}; }

  std::string exe_;
  pid_t pid_ = 0;       // the live tracee
  ThreadId id_;         // what the debugger sees: the first tracee's ids
  uint64_t position_ = 0;
  std::set<uint64_t> breakpoints_;
  std::map<int, uint64_t> checkpoints_;  // id -> position
  int next_checkpoint_ = 1;
};

}  // namespace rrx::stand_in
