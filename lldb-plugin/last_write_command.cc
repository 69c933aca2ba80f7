#include "last_write_command.h"

#include <string>

#include "command_runner.h"
#include "reverse_engine.h"

namespace rrx::lldb_plugin {
namespace {

// The value's text as `frame variable` shows it, without the name.
std::string shown(lldb::SBValue value) {
  if (const char* v = value.GetValue()) return v;
  if (const char* s = value.GetSummary()) return s;
  lldb::SBStream stream;
  value.GetDescription(stream);
  return stream.GetData() ? stream.GetData() : "?";
}

std::string memory(lldb::SBProcess process, lldb::addr_t address, size_t size) {
  std::string bytes(size, '\0');
  lldb::SBError error;
  bytes.resize(process.ReadMemory(address, bytes.data(), size, error));
  return bytes;
}

// Runs backwards with a write watchpoint on the location the variable path
// names now (not the expression: the write may be in a frame where it
// means something else), stopping on the writing instruction.
class LastWriteCommand : public lldb::SBCommandPluginInterface {
 public:
  bool DoExecute(lldb::SBDebugger debugger, char** args,
                 lldb::SBCommandReturnObject& result) override {
    std::string expr = join_words(args);
    std::string error;
    if (expr.empty()) {
      result.SetError("usage: last-write VARIABLE-PATH (a variable, field, array element, *pointer)");
      return false;
    }
    lldb::SBProcess process = stopped_process(debugger, &error);
    if (!process.IsValid()) return finish_command(result, false, "", error);
    lldb::SBTarget target = debugger.GetSelectedTarget();
    lldb::SBFrame frame = process.GetSelectedThread().GetSelectedFrame();
    // A variable path (`frame variable` syntax), not an expression: lldb
    // evaluates expressions by running code, which a replay cannot.
    lldb::SBValue value = frame.GetValueForVariablePath(expr.c_str());
    lldb::SBError value_error = value.GetError();
    if (!value.IsValid() || value_error.Fail()) {
      const char* why = value_error.GetCString();
      return finish_command(result, false, "",
                            "last-write: '" + expr + "' is not a variable path here (" +
                                (why ? why : "not found") + ")");
    }
    lldb::addr_t address = value.GetLoadAddress();
    size_t size = value.GetByteSize();
    if (address == LLDB_INVALID_ADDRESS || size == 0) {
      return finish_command(result, false, "",
                            "last-write: '" + expr + "' is not an lvalue: it has no location");
    }
    lldb::SBType type = value.GetType();
    std::string after = shown(value);
    // A reverse continue does not count a watchpoint trap at the point it
    // starts from: a change by the instruction just before now would be
    // missed when now is right after it (a breakpoint on the next line).
    // Step back over that instruction first and see.
    std::string now = memory(process, address, size), output;
    if (!run_reversed(debugger, "thread step-inst", &output, &error)) {
      return finish_command(result, false, "", error);
    }
    lldb::SBThread thread = process.GetSelectedThread();
    bool found = memory(process, address, size) != now;
    if (!found && !at_history_start(thread)) {
      lldb::SBError watch_error;
      lldb::SBWatchpoint watch = target.WatchAddress(address, size, false, true, watch_error);
      if (!watch.IsValid() || watch_error.Fail()) {
        const char* why = watch_error.GetCString();
        return finish_command(result, false, "",
                              "last-write: cannot watch '" + expr + "': " + (why ? why : "refused"));
      }
      bool ran = run_reversed(debugger, "process continue", &output, &error);
      thread = process.GetSelectedThread();
      found = ran && thread.GetStopReason() == lldb::eStopReasonWatchpoint;
      target.DeleteWatchpoint(watch.GetID());
      if (!ran) return finish_command(result, false, "", error);
    }
    if (!found) {
      return finish_command(result, false, output,
                            "last-write: nothing changed " + expr +
                                " before this point of the recording");
    }
    lldb::SBValue before =
        target.CreateValueFromAddress(expr.c_str(), lldb::SBAddress(address, target), type);
    std::string text = "last-write: " + expr + "\nOld value = " + shown(before) +
                       "\nNew value = " + after + "\n";
    text += run_command(debugger, "frame select").output;  // the frame and its source line
    return finish_command(result, true, text, "");
  }
};

}  // namespace

void add_last_write_command(lldb::SBDebugger debugger) {
  debugger.GetCommandInterpreter().AddCommand(
      "last-write", new LastWriteCommand(),
      "Go back to the instruction that last changed an lvalue (stopped on it, not yet "
      "executed); print its value before and after that write and the source line. "
      "Repeat it to walk further back.",
      "last-write VARIABLE-PATH");
}

}  // namespace rrx::lldb_plugin
