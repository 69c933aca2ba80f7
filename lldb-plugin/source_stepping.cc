#include "source_stepping.h"

#include <optional>

#include "command_runner.h"
#include "reverse_engine.h"

namespace rrx::lldb_plugin {
namespace {

using lldb::addr_t;

// A contiguous piece of the line table: [start, end) belongs to `line`.
// line 0 means no line information (or compiler-generated code).
struct LineRange {
  addr_t start = 0;
  addr_t end = 0;
  uint32_t line = 0;
  std::string file;

  bool contains(addr_t pc) const { return pc >= start && pc < end; }
  bool same_line(const LineRange& other) const {
    return line == other.line && file == other.file;
  }
};

LineRange from_entry(lldb::SBLineEntry entry, lldb::SBTarget target) {
  if (!entry.IsValid()) return {};
  LineRange range{entry.GetStartAddress().GetLoadAddress(target),
                  entry.GetEndAddress().GetLoadAddress(target), entry.GetLine(), ""};
  char path[4096];
  if (entry.GetFileSpec().GetPath(path, sizeof path) > 0) range.file = path;
  return range;
}

LineRange entry_at(addr_t pc, lldb::SBTarget target) {
  return from_entry(lldb::SBAddress(pc, target).GetLineEntry(), target);
}

// The line-table row of the frame's pc, joined with the rows right before
// and after it that have the same line: gdb's DWARF reader drops a row
// whose line equals the previous row's, so gdb sees one range where lldb
// sees several (e.g. `i++` and `i < 3` of a for loop), and stepping must
// stop where gdb's does.
LineRange line_range(lldb::SBFrame frame, lldb::SBTarget target) {
  LineRange range = from_entry(frame.GetLineEntry(), target);
  if (range.line == 0) return range;
  for (int i = 0; i < 64; ++i) {
    LineRange before = entry_at(range.start - 1, target);
    if (!before.same_line(range) || before.end != range.start || before.start >= range.start) break;
    range.start = before.start;
  }
  for (int i = 0; i < 64; ++i) {
    LineRange after = entry_at(range.end, target);
    if (!after.same_line(range) || after.start != range.end || after.end <= range.end) break;
    range.end = after.end;
  }
  return range;
}

// The call instruction that pushed `return_address`: the instruction that
// ends there and is a call. Tries the encodings' lengths, most common first
// (call rel32, call *disp32(%rip), call *%reg, ...).
std::optional<addr_t> call_site(lldb::SBTarget target, addr_t return_address) {
  for (addr_t length : {5, 6, 2, 3, 7, 4, 8, 9}) {
    lldb::SBAddress address(return_address - length, target);
    lldb::SBInstructionList list = target.ReadInstructions(address, 1);
    if (list.GetSize() != 1) continue;
    lldb::SBInstruction instruction = list.GetInstructionAtIndex(0);
    const char* mnemonic = instruction.GetMnemonic(target);
    if (instruction.GetByteSize() == length && mnemonic &&
        std::string_view(mnemonic).starts_with("call")) {
      return return_address - length;
    }
  }
  return std::nullopt;
}

// Drives one source-level step. Each primitive returns false when something
// other than the step itself stopped the thread (a user breakpoint, the
// start of history, a signal): the step ends there, as in gdb.
class Stepper {
 public:
  explicit Stepper(lldb::SBDebugger debugger)
      : debugger_(debugger),
        target_(debugger.GetSelectedTarget()),
        process_(target_.GetProcess()),
        thread_(process_.GetSelectedThread()) {}

  lldb::SBFrame frame(uint32_t index = 0) { return thread_.GetFrameAtIndex(index); }
  addr_t pc() { return frame().GetPC(); }
  // On a `ret` the frame's CFA is plainly rsp + 8. lldb-19 gets it wrong on
  // some functions' final `ret` (natively too: Debian 12 libc's _IO_fflush
  // and setvbuf after their `pop`s, taking main's caller for theirs), and a
  // step back through a return lands exactly there.
  addr_t cfa() { return at_return() ? frame().GetSP() + 8 : frame().GetCFA(); }
  bool at_return() {
    lldb::SBInstructionList list = target_.ReadInstructions(frame().GetPCAddress(), 1);
    if (list.GetSize() != 1) return false;
    const char* mnemonic = list.GetInstructionAtIndex(0).GetMnemonic(target_);
    return mnemonic && std::string_view(mnemonic).starts_with("ret");
  }
  LineRange line() { return line_range(frame(), target_); }
  // The entry address of the frame's function; 0 if unknown.
  addr_t function_start() {
    lldb::SBFrame f = frame();
    lldb::SBAddress start = f.GetFunction().IsValid() ? f.GetFunction().GetStartAddress()
                                                      : f.GetSymbol().GetStartAddress();
    return start.IsValid() ? start.GetLoadAddress(target_) : 0;
  }

  bool stepi() {
    // Ctrl-C ends the step where it is (a step is many runs, each short).
    if (InterruptForwarder::interrupted()) return false;
    lldb::SBError error;
    thread_.StepInstruction(false, error);
    if (error.Fail() || process_.GetState() != lldb::eStateStopped) return false;
    switch (thread_.GetStopReason()) {
      case lldb::eStopReasonTrace:
      case lldb::eStopReasonPlanComplete:
      case lldb::eStopReasonNone:
      case lldb::eStopReasonBreakpoint:  // stepped onto one: not a hit
        return true;
      default:
        return false;
    }
  }

  // Runs back to the call instruction that made the frame whose caller has
  // `caller_cfa` and whose return address is `return_address`.
  bool back_to_call(addr_t return_address, addr_t caller_cfa, std::string* error) {
    auto site = call_site(target_, return_address);
    if (!site) {
      *error = "cannot find the call instruction before the return address";
      return false;
    }
    lldb::SBBreakpoint breakpoint = target_.BreakpointCreateByAddress(*site);
    bool reached = false;
    while (!InterruptForwarder::interrupted()) {
      process_.Continue();
      if (process_.GetState() != lldb::eStateStopped || !hit_only(breakpoint)) break;
      // A deeper recursive activation stops here too; keep going back.
      if (cfa() == caller_cfa) {
        reached = true;
        break;
      }
    }
    target_.BreakpointDelete(breakpoint.GetID());
    return reached;
  }

 private:
  // True if the thread stopped for `breakpoint` and no other breakpoint.
  bool hit_only(lldb::SBBreakpoint breakpoint) {
    if (thread_.GetStopReason() != lldb::eStopReasonBreakpoint) return false;
    for (size_t i = 0; i + 1 < thread_.GetStopReasonDataCount(); i += 2) {
      if (thread_.GetStopReasonDataAtIndex(i) != static_cast<uint64_t>(breakpoint.GetID())) {
        return false;
      }
    }
    return true;
  }

  lldb::SBDebugger debugger_;
  lldb::SBTarget target_;
  lldb::SBProcess process_;
  lldb::SBThread thread_;
};

// reverse-step / reverse-next: back to the start of the previous line.
// Returns true when it got there, false when something else stopped it.
bool step_back_line(Stepper& stepper, bool over_calls, std::string* error) {
  addr_t frame_cfa = stepper.cfa();
  LineRange range = stepper.line();
  for (;;) {
    addr_t return_address = stepper.pc();  // valid if the next step enters a callee
    if (!stepper.stepi()) return false;
    addr_t pc = stepper.pc();
    addr_t cfa = stepper.cfa();
    if (cfa < frame_cfa) {
      // Stepped back through a return into a callee.
      LineRange callee = stepper.line();
      if (over_calls || callee.line == 0) {
        if (!stepper.back_to_call(return_address, frame_cfa, error)) return false;
        pc = stepper.pc();
      } else {
        frame_cfa = cfa;
        range = callee;
        if (pc == range.start) return true;
        continue;
      }
    } else if (cfa > frame_cfa) {
      // Stepped back out of the function's entry to the caller's call:
      // finish at the start of the caller's line.
      frame_cfa = cfa;
      range = stepper.line();
      if (range.line == 0 || pc == range.start) return true;
      continue;
    }
    // gdb does not stop at the function's entry: it steps on back into
    // the caller, to the start of the calling line.
    bool at_entry = pc == stepper.function_start();
    if (range.contains(pc)) {
      if (pc == range.start && !at_entry) return true;
      continue;
    }
    LineRange now = stepper.line();
    if (now.line == 0) continue;
    // Another piece of the same line keeps the step going, towards the
    // start of a different line, as in gdb (the range stays: its start is
    // not a place to stop). A different line becomes the line to reach
    // the start of.
    if (now.same_line(range)) continue;
    range = now;
    if (pc == range.start && !at_entry) return true;
  }
}

bool finish_back(Stepper& stepper, std::string* error) {
  lldb::SBFrame caller = stepper.frame(1);
  if (!caller.IsValid()) {
    *error = "\"reverse-finish\" not meaningful in the outermost frame";
    return false;
  }
  return stepper.back_to_call(caller.GetPC(), caller.GetCFA(), error);
}

}  // namespace

bool reverse_source_step(lldb::SBDebugger debugger, SourceStep kind, std::string* output,
                         std::string* error) {
  if (!stopped_process(debugger, error).IsValid()) return false;
  bool done;
  {
    ReverseDirection reverse(debugger);
    if (!reverse.ok()) {
      *error = reverse.error();
      return false;
    }
    Stepper stepper(debugger);
    done = kind == SourceStep::kFinish ? finish_back(stepper, error)
                                       : step_back_line(stepper, kind == SourceStep::kNext, error);
  }
  if (!error->empty()) return false;
  // Where it ended: just the frame when the step completed; the whole stop
  // (with its reason: breakpoint, start of history, ...) when cut short.
  *output = run_command(debugger, done ? "frame select 0" : "process status").output;
  return true;
}

}  // namespace rrx::lldb_plugin
