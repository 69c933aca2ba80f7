// The interface between the gdb remote protocol server and whatever it
// debugs. The replay engine implements it; the server only translates
// packets into these calls and their results back into packets.
//
// All calls come from the thread that drives the GdbServer. A target never
// sees protocol details: thread ids, register numbering, escaping and
// debugger quirks (gdb vs lldb) are the server's business.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rrx {

class AgentExpression;

// A thread as the debugger names it: process id and thread id.
struct ThreadId {
  pid_t pid = 0;
  pid_t tid = 0;
  friend bool operator==(const ThreadId&, const ThreadId&) = default;
};

// Everything the debugger can see of a thread's registers.
struct RegisterFile {
  user_regs_struct gpr{};       // as PTRACE_GETREGS
  user_fpregs_struct fpr{};     // FXSAVE area: x87, SSE, MXCSR
  uint8_t ymmh[16][16]{};       // upper halves of ymm0..ymm15 (XSAVE AVX)
};

enum class BreakpointKind {
  kSoftware,     // Z0
  kHardware,     // Z1
  kWriteWatch,   // Z2
  kReadWatch,    // Z3
  kAccessWatch,  // Z4
};

enum class Direction { kForward, kReverse };

struct ResumeRequest {
  enum class Action { kContinue, kStep };
  Action action = Action::kContinue;
  Direction direction = Direction::kForward;
  // The thread to step or continue; none means the target's choice
  // (the current thread for a step, all threads for a continue).
  std::optional<ThreadId> thread;
  // Signal the debugger asked to deliver (C/S packets); 0 for none. A
  // replay cannot change history and may ignore it.
  int signal = 0;
  // Going forwards, a signal delivered to the debugged process stops it
  // there (before the signal acts: a fatal SIGSEGV at the faulting
  // instruction), unless it is one of these (gdb's QPassSignals: `handle
  // SIG nostop`).
  std::set<int> pass_signals;
  // Stop at the entry and the exit of these syscalls (QCatchSyscalls), in
  // both directions; with catch_syscalls and none named, at every one.
  bool catch_syscalls = false;
  std::set<int> syscalls;
  // A line for the debugger's console while a long run goes on ("event
  // 12000 of 17683"); the target calls it at most about once a second.
  // May be empty. Call it only from the thread that called resume().
  std::function<void(const std::string&)> progress;
  // Poll this now and then while running (it is cheap: a non-blocking read
  // of the debugger connection). Once it returns true the user pressed
  // Ctrl-C: stop soon and report StopReason::kSignal with SIGINT. Call it
  // only from the thread that called resume().
  std::function<bool()> interrupted;
};

struct StopReason {
  enum class Kind {
    kSignal,        // `signal` stopped `thread` (SIGTRAP after a step)
    kSyscallEntry,  // `thread` is entering syscall `syscall` (a catch)
    kSyscallExit,   // `thread` is returning from syscall `syscall`
    kBreakpoint,    // a Z0/Z1 breakpoint at the thread's pc
    kWatchpoint,    // a Z2-Z4 watchpoint on `address` triggered
    kHistoryStart,  // reverse execution reached the start of the recording
    kHistoryEnd,    // forward execution reached the end of the recording
    kExited,        // the process exited with `exit_code` (a real end)
  };
  Kind kind = Kind::kSignal;
  ThreadId thread;
  int signal = 5;  // SIGTRAP; only kSignal uses other values
  // kBreakpoint: kSoftware or kHardware; kWatchpoint: which watch fired.
  BreakpointKind breakpoint = BreakpointKind::kSoftware;
  uint64_t address = 0;  // kWatchpoint: the watched address that fired
  int exit_code = 0;     // kExited
  int syscall = -1;      // kSyscallEntry, kSyscallExit
};

// One mapping of the address space, for lldb's qMemoryRegionInfo.
struct MemoryRegion {
  uint64_t start = 0;
  uint64_t size = 0;
  bool mapped = false;  // false: [start, start+size) is a hole
  bool readable = false, writable = false, executable = false;
  std::string name;  // backing file path, if any
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;

  // Live threads, and the one the last stop happened in.
  virtual std::vector<ThreadId> threads() = 0;
  virtual ThreadId current_thread() = 0;

  // False if the thread is unknown.
  virtual bool read_registers(const ThreadId& thread, RegisterFile* regs) = 0;
  // Writes are allowed only where the target can honour them (a replay
  // only inside a diversion); otherwise return false and say why in *error.
  virtual bool write_registers(const ThreadId& thread, const RegisterFile& regs,
                               std::string* error) = 0;

  // Reads up to `length` bytes; stops early at the first unreadable byte.
  virtual std::vector<uint8_t> read_memory(uint64_t address, size_t length) = 0;
  virtual bool write_memory(uint64_t address, const std::vector<uint8_t>& data,
                            std::string* error) = 0;

  // Breakpoints and watchpoints; `length` is gdb's kind/length field. Report
  // a software breakpoint hit with the pc *at* the breakpoint, not after it.
  virtual bool insert_breakpoint(BreakpointKind kind, uint64_t address,
                                 size_t length) = 0;
  virtual bool remove_breakpoint(BreakpointKind kind, uint64_t address,
                                 size_t length) = 0;

  // The conditions (gdb agent expressions) of the breakpoint at `address`,
  // replacing any before; none: it always stops. A hit whose conditions
  // are all false does not stop. False if the target cannot evaluate them
  // (the default).
  virtual bool set_breakpoint_conditions(uint64_t /*address*/,
                                         const std::vector<AgentExpression>& /*conditions*/) {
    return false;
  }

  // Runs until something stops the program; blocks.
  virtual StopReason resume(const ResumeRequest& request) = 0;

  // The initial process's auxiliary vector and executable path.
  virtual std::vector<uint8_t> auxv() = 0;
  virtual std::string exec_file() = 0;
  // qXfer:libraries-svr4 document (<library-list-svr4 ...>), "" if unknown.
  virtual std::string libraries_svr4_xml() = 0;
  // siginfo_t bytes of the signal that stopped `thread`, empty if none.
  virtual std::vector<uint8_t> siginfo(const ThreadId& thread) = 0;
  // False if nothing is known about `address`.
  virtual bool memory_region(uint64_t address, MemoryRegion* region) = 0;

  // Starts the replay over: back to the first point the debugger saw, or
  // on to event `event` (> 0) from there, breakpoints kept (gdb's `run`,
  // `start` and `run N` on an extended-remote target). False and *error
  // if that cannot be done (the default: a target that cannot).
  virtual bool restart(uint64_t /*event*/, std::string* error) {
    *error = "rrx: this target cannot start over";
    return false;
  }

  // A `monitor` command (when, when-ticks, when-tid, checkpoint,
  // info checkpoints, delete checkpoint N, restart N). Text for the user
  // goes to *output; return false if the command failed or is unknown.
  virtual bool monitor(const std::string& command, std::string* output) = 0;
};

}  // namespace rrx
