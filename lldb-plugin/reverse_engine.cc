#include "reverse_engine.h"

#include <signal.h>

#include <chrono>

namespace rrx::lldb_plugin {
namespace {

// `process plugin packet send` is the only way to send a raw packet on
// lldb-19 (there is no SB call). It prints "response: OK" on success.
bool set_direction(lldb::SBDebugger debugger, bool reverse, std::string* error) {
  CommandResult result = run_despite_interrupt(
      debugger, std::string("process plugin packet send QRRXDirection:") +
                    (reverse ? "reverse" : "forward"));
  if (result.ok && result.output.find("response: OK") != std::string::npos) return true;
  *error = "the server does not support reverse execution (is this an rrx replay?)";
  return false;
}

std::atomic<bool> sigint_seen{false};
std::atomic<int> forwarders{0};  // nested ones share the first's handler
struct sigaction previous_sigint;

void note_sigint(int signo, siginfo_t* info, void* context) {
  sigint_seen = true;
  if (previous_sigint.sa_flags & SA_SIGINFO) {
    previous_sigint.sa_sigaction(signo, info, context);
  } else if (previous_sigint.sa_handler != SIG_DFL && previous_sigint.sa_handler != SIG_IGN) {
    previous_sigint.sa_handler(signo);
  }
}

}  // namespace

InterruptForwarder::InterruptForwarder(lldb::SBDebugger debugger) {
  if (forwarders++ == 0) {
    sigint_seen = false;
    struct sigaction action = {};
    action.sa_sigaction = note_sigint;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_sigint);
  }
  // Again every 100 ms after Ctrl-C: one that came as a run was about to
  // start found nothing to stop (lldb sends nothing to a stopped process).
  thread_ = std::thread([this, process = debugger.GetSelectedTarget().GetProcess()]() mutable {
    while (!done_) {
      if (sigint_seen) process.SendAsyncInterrupt();
      std::this_thread::sleep_for(std::chrono::milliseconds(sigint_seen ? 100 : 10));
    }
  });
}

InterruptForwarder::~InterruptForwarder() {
  done_ = true;
  thread_.join();
  if (--forwarders == 0) sigaction(SIGINT, &previous_sigint, nullptr);
}

bool InterruptForwarder::interrupted() { return sigint_seen; }

ReverseDirection::ReverseDirection(lldb::SBDebugger debugger)
    : debugger_(debugger), synchronous_(debugger), interrupts_(debugger) {
  ok_ = set_direction(debugger_, true, &error_);
}

ReverseDirection::~ReverseDirection() {
  // A process that exited or disconnected meanwhile has no server to tell.
  if (!ok_ || !debugger_.GetSelectedTarget().GetProcess().IsValid()) return;
  std::string ignored;
  set_direction(debugger_, false, &ignored);
}

CommandResult run_despite_interrupt(lldb::SBDebugger debugger, const std::string& line) {
  if (!InterruptForwarder::interrupted()) return run_command(debugger, line);
  CommandResult result;
  std::thread([&] { result = run_command(debugger, line); }).join();
  return result;
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
