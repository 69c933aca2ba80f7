// Reverse execution on lldb-19, which has none: the plugin flips the rrx
// server's direction with the custom packet QRRXDirection, runs an ordinary
// resume (so lldb refreshes registers, threads and stop info as after any
// stop), and flips it back once the process has stopped again.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include <lldb/API/LLDB.h>

#include "command_runner.h"

namespace rrx::lldb_plugin {

// Ctrl-C while a plugin command runs the process synchronously only marks
// the command interrupted, on lldb's input thread (lldb halts a process on
// Ctrl-C only when no command runs): the plugin's long runs would go on to
// their end. While an InterruptForwarder lives, SIGINT is also noted here
// (the previous handler, lldb's, still runs) and a thread stops the running
// process with an asynchronous interrupt (\x03: the server stops at the
// next event or hit it replays, with SIGINT). An IDE's pause (`process
// interrupt` through the SB API) needs none of this.
class InterruptForwarder {
 public:
  explicit InterruptForwarder(lldb::SBDebugger debugger);
  ~InterruptForwarder();
  InterruptForwarder(const InterruptForwarder&) = delete;
  InterruptForwarder& operator=(const InterruptForwarder&) = delete;

  // True once Ctrl-C came while one lives: a command made of many runs (a
  // reverse step) must not start another.
  static bool interrupted();

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Holds the server in reverse for its lifetime; forward again afterwards.
// Also makes resumes synchronous, so "afterwards" is after the stop, and
// forwards Ctrl-C to the running process.
class ReverseDirection {
 public:
  explicit ReverseDirection(lldb::SBDebugger debugger);
  ~ReverseDirection();
  ReverseDirection(const ReverseDirection&) = delete;
  ReverseDirection& operator=(const ReverseDirection&) = delete;

  // False if the server refused (not an rrx replay); error() says why.
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  lldb::SBDebugger debugger_;
  SynchronousMode synchronous_;
  InterruptForwarder interrupts_;
  bool ok_ = false;
  std::string error_;
};

// Runs `line` as run_command does, also after Ctrl-C: lldb then refuses
// every command on its input thread until the interrupted one ends ("...
// Interrupted"), but not on another thread.
CommandResult run_despite_interrupt(lldb::SBDebugger debugger, const std::string& line);

// Runs a resuming lldb command (`process continue`, `thread step-inst ...`)
// backwards; its usual output (the stop) goes to *output.
bool run_reversed(lldb::SBDebugger debugger, const std::string& command, std::string* output,
                  std::string* error);

// The stops rrx reports when reverse execution reaches the beginning, and
// forward execution the end of the recording.
bool at_history_start(lldb::SBThread thread);
bool at_history_end(lldb::SBThread thread);

// After the server jumped (to a checkpoint, to the start of the replay or
// an event), lldb still shows the old state and lldb-19 has no SB call to
// drop its caches: step one instruction forward and back again, so lldb
// refreshes as after any stop and the replay is where it jumped to (not
// back at the end of history, where the step forward did not move).
void refresh_after_jump(lldb::SBDebugger debugger);

// The process of the selected target if it can be resumed; else *error.
lldb::SBProcess stopped_process(lldb::SBDebugger debugger, std::string* error);

}  // namespace rrx::lldb_plugin
