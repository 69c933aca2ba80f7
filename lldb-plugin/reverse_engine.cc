#include "reverse_engine.h"

namespace rrx::lldb_plugin {
namespace {

// `process plugin packet send` is the only way to send a raw packet on
// lldb-19 (there is no SB call). It prints "response: OK" on success.
bool set_direction(lldb::SBDebugger debugger, bool reverse, std::string* error) {
  CommandResult result = run_command(
      debugger, std::string("process plugin packet send QRRXDirection:") +
                    (reverse ? "reverse" : "forward"));
  if (result.ok && result.output.find("response: OK") != std::string::npos) return true;
  *error = "the server does not support reverse execution (is this an rrx replay?)";
  return false;
}

}  // namespace

ReverseDirection::ReverseDirection(lldb::SBDebugger debugger)
    : debugger_(debugger), synchronous_(debugger) {
  ok_ = set_direction(debugger_, true, &error_);
}

ReverseDirection::~ReverseDirection() {
  // A process that exited or disconnected meanwhile has no server to tell.
  if (ok_ && debugger_.GetSelectedTarget().GetProcess().IsValid()) {
    std::string ignored;
    set_direction(debugger_, false, &ignored);
  }
}

bool run_reversed(lldb::SBDebugger debugger, const std::string& command, std::string* output,
                  std::string* error) {
  if (!stopped_process(debugger, error).IsValid()) return false;
  ReverseDirection reverse(debugger);
  if (!reverse.ok()) {
    *error = reverse.error();
    return false;
  }
  CommandResult result = run_command(debugger, command);
  *output = result.output;
  *error = result.error;
  return result.ok;
}

namespace {

bool stopped_with(lldb::SBThread thread, const std::string& description) {
  if (thread.GetStopReason() != lldb::eStopReasonException) return false;
  char text[128] = {};
  thread.GetStopDescription(text, sizeof text);
  return std::string(text).find(description) != std::string::npos;
}

}  // namespace

bool at_history_start(lldb::SBThread thread) {
  return stopped_with(thread, "start of recorded history");
}

bool at_history_end(lldb::SBThread thread) {
  return stopped_with(thread, "end of recorded history");
}

void refresh_after_jump(lldb::SBDebugger debugger) {
  lldb::SBThread thread = debugger.GetSelectedTarget().GetProcess().GetSelectedThread();
  lldb::SBError error;
  {
    SynchronousMode synchronous(debugger);
    thread.StepInstruction(false, error);
    if (at_history_end(thread)) return;
  }
  ReverseDirection reverse(debugger);
  if (reverse.ok()) thread.StepInstruction(false, error);
}

lldb::SBProcess stopped_process(lldb::SBDebugger debugger, std::string* error) {
  lldb::SBProcess process = debugger.GetSelectedTarget().GetProcess();
  if (!process.IsValid()) {
    *error = "no replay is connected (start one with `replay TRACE`)";
    return {};
  }
  if (process.GetState() != lldb::eStateStopped) {
    *error = "the process must be stopped to execute in reverse";
    return {};
  }
  return process;
}

}  // namespace rrx::lldb_plugin
