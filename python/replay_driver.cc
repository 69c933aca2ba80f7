#include "replay_driver.h"

#include <elf.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <regex>
#include <sstream>

#include "elf_symbols.h"
#include "replay/replay_target.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"
#include "trace_processes.h"
#include "writing_instruction.h"

namespace rrx {

namespace {

// x86 debug registers watch 1, 2, 4 or 8 bytes aligned to their length.
constexpr size_t kDebugRegisters = 4;

uint64_t auxv_entry(const std::vector<uint8_t>& auxv, uint64_t type) {
  for (size_t i = 0; i + 16 <= auxv.size(); i += 16) {
    uint64_t pair[2];
    memcpy(pair, auxv.data() + i, 16);
    if (pair[0] == type) return pair[1];
  }
  return 0;
}

std::string xml_unescape(std::string s) {
  static const std::pair<const char*, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&amp;", '&'}};
  for (const auto& [entity, c] : kEntities) {
    for (size_t at; (at = s.find(entity)) != std::string::npos;) s.replace(at, strlen(entity), 1, c);
  }
  return s;
}

// A process named by its program ("ls": the last program it exec'd has
// that file name) as its recorded pid, from the trace's processes; any
// other `process` as it is (a pid, or a name the target looks up itself).
std::string pid_of_program(const std::string& trace, const std::string& process) {
  if (process.empty() || process.find_first_not_of("0123456789") == std::string::npos) return process;
  std::string error;
  auto reader = TraceReader::open(trace, &error);
  std::vector<ProcessInfo> processes;
  if (!reader || !read_processes(*reader, &processes, &error)) return process;
  for (const ProcessInfo& p : processes) {
    if (p.exe.substr(p.exe.rfind('/') + 1) == process) return std::to_string(p.pid);
  }
  return process;
}

}  // namespace

const char* reason_name(ScriptStop::Reason reason) {
  switch (reason) {
    case ScriptStop::Reason::kBreakpoint: return "breakpoint";
    case ScriptStop::Reason::kWatchpoint: return "watchpoint";
    case ScriptStop::Reason::kSignal: return "signal";
    case ScriptStop::Reason::kStep: return "step";
    case ScriptStop::Reason::kStart: return "start";
    case ScriptStop::Reason::kEnd: return "end";
    case ScriptStop::Reason::kEvent: return "event";
    case ScriptStop::Reason::kInterrupted: return "interrupted";
  }
  return "?";
}

std::unique_ptr<ReplayDriver> ReplayDriver::open(const std::string& trace,
                                                 const std::string& process, std::string* error) {
  ReplayTargetOptions options;
  options.trace_dir = resolve_trace(trace);
  options.process = pid_of_program(options.trace_dir, process);
  // The replay pins this thread to the recording's CPU; the script gets
  // its own CPUs back when the replay ends.
  cpu_set_t affinity;
  bool have_affinity = sched_getaffinity(0, sizeof affinity, &affinity) == 0;
  auto target = ReplayTarget::create(options, error);
  if (!target) {
    if (have_affinity) sched_setaffinity(0, sizeof affinity, &affinity);
    return nullptr;
  }
  std::unique_ptr<ReplayDriver> driver(new ReplayDriver(std::move(target)));
  driver->have_affinity_ = have_affinity;
  driver->affinity_ = affinity;
  // The start of history, for seeking backwards.
  if (!driver->take_checkpoint(&driver->start_checkpoint_, error)) return nullptr;
  driver->start_event_ = driver->when();
  return driver;
}

ReplayDriver::ReplayDriver(std::unique_ptr<ReplayTarget> target) : target_(std::move(target)) {}

ReplayDriver::~ReplayDriver() {
  target_.reset();
  if (have_affinity_) sched_setaffinity(0, sizeof affinity_, &affinity_);
}

// ---- Where the replay is ----

// The target answers these as monitor commands, whose text is for users:
// it is read back here and nowhere else.
std::string ReplayDriver::monitor(const std::string& command, bool* ok) {
  std::string output;
  bool done = target_->monitor(command, &output);
  if (ok) *ok = done;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

uint64_t ReplayDriver::monitor_number(const std::string& command) {
  std::string text = monitor(command);
  size_t colon = text.find(':');
  return colon == std::string::npos ? 0 : strtoull(text.c_str() + colon + 1, nullptr, 10);
}

uint64_t ReplayDriver::when() { return monitor_number("when"); }
uint64_t ReplayDriver::ticks() { return monitor_number("when-ticks"); }
int32_t ReplayDriver::thread() { return target_->current_thread().tid; }

uint64_t ReplayDriver::pc() {
  RegisterFile regs;
  return registers(&regs) ? regs.gpr.rip : 0;
}

bool ReplayDriver::registers(RegisterFile* regs) {
  return target_->read_registers(target_->current_thread(), regs);
}

std::string ReplayDriver::executable() { return target_->exe_path(); }

// ---- Running ----

ScriptStop ReplayDriver::convert(const StopReason& stop, bool interrupted) {
  ScriptStop s;
  s.thread = stop.thread.tid;
  s.event = when();
  s.pc = pc();
  switch (stop.kind) {
    case StopReason::Kind::kBreakpoint: s.reason = ScriptStop::Reason::kBreakpoint; break;
    case StopReason::Kind::kWatchpoint:
      s.reason = ScriptStop::Reason::kWatchpoint;
      s.address = stop.address;
      break;
    case StopReason::Kind::kSyscallEntry:  // (only when asked to catch syscalls)
    case StopReason::Kind::kSyscallExit: s.reason = ScriptStop::Reason::kEvent; break;
    case StopReason::Kind::kHistoryStart: s.reason = ScriptStop::Reason::kStart; break;
    case StopReason::Kind::kHistoryEnd:
    case StopReason::Kind::kExited: s.reason = ScriptStop::Reason::kEnd; break;
    case StopReason::Kind::kSignal:
      if (stop.signal == SIGINT && interrupted) {
        s.reason = ScriptStop::Reason::kInterrupted;
      } else if (stop.signal == SIGTRAP) {
        s.reason = ScriptStop::Reason::kStep;
      } else {
        s.reason = ScriptStop::Reason::kSignal;
        s.signal = stop.signal;
      }
      break;
  }
  return s;
}

ScriptStop ReplayDriver::resume(Direction direction, ResumeRequest::Action action,
                                const Interrupted& interrupted) {
  disarm();
  return run(direction, action, interrupted);
}

ScriptStop ReplayDriver::run(Direction direction, ResumeRequest::Action action,
                             const Interrupted& interrupted) {
  bool was_interrupted = false;
  ResumeRequest request;
  request.direction = direction;
  request.action = action;
  request.interrupted = [&] { return was_interrupted = interrupted && interrupted(); };
  StopReason stop = target_->resume(request);
  return convert(stop, was_interrupted);
}

ScriptStop ReplayDriver::seek(uint64_t event, const Interrupted& interrupted) {
  disarm();
  lift_points();
  std::string error;
  if (event < when() && !restart_checkpoint(start_checkpoint_, &error)) {
    restore_points();
    ScriptStop failed;
    failed.reason = ScriptStop::Reason::kEnd;
    return failed;
  }
  ScriptStop stop;
  if (when() >= event) {
    stop = convert(StopReason{}, false);
    stop.reason = event < start_event_ || when() == start_event_ ? ScriptStop::Reason::kStart
                                                                  : ScriptStop::Reason::kEvent;
  } else {
    // To the event itself (the target replays from the start of history),
    // then on until the thread can be looked at (not inside a syscall,
    // between its events).
    if (!target_->restart(event, &error)) {
      // Beyond the history: its end.
      stop = run(Direction::kForward, ResumeRequest::Action::kContinue,
                 [&] { return interrupted && interrupted(); });
    } else if (pc() != 0) {
      stop = convert(StopReason{}, false);
      stop.reason = ScriptStop::Reason::kEvent;
    } else {
      bool by_user = false;
      stop = run(Direction::kForward, ResumeRequest::Action::kContinue, [&] {
        return (by_user = interrupted && interrupted()) || pc() != 0;
      });
      if (stop.reason == ScriptStop::Reason::kInterrupted && !by_user) {
        stop.reason = ScriptStop::Reason::kEvent;
      }
    }
  }
  restore_points();
  return stop;
}

// ---- Breakpoints and watchpoints ----

bool ReplayDriver::break_at(uint64_t address, int* id, std::string* error) {
  disarm();
  if (!target_->insert_breakpoint(BreakpointKind::kSoftware, address, 1)) {
    *error = "cannot set a breakpoint at " + std::to_string(address) + ": not mapped code";
    return false;
  }
  *id = next_point_++;
  points_[*id] = {{BreakpointKind::kSoftware, address, 1}};
  return true;
}

// Covers the range with aligned pieces of 8, 4, 2 or 1 bytes, one debug
// register each.
bool ReplayDriver::watch_range(BreakpointKind kind, uint64_t address, uint64_t size,
                               std::vector<Point>* pieces, std::string* error) {
  size_t in_use = 0;
  for (const auto& [id, p] : points_lifted_ ? decltype(points_){} : points_) {
    if (p[0].kind != BreakpointKind::kSoftware) in_use += p.size();
  }
  std::vector<Point> wanted;
  for (uint64_t at = address, end = address + size; at < end;) {
    uint64_t length = 8;
    while (length > 1 && (at % length != 0 || at + length > end)) length /= 2;
    wanted.push_back({kind, at, length});
    at += length;
  }
  if (size == 0 || in_use + wanted.size() > kDebugRegisters) {
    *error = size == 0 ? "cannot watch 0 bytes"
                       : "the " + std::to_string(kDebugRegisters) +
                             " debug registers cannot watch " + std::to_string(size) +
                             " more bytes there (" + std::to_string(in_use) + " in use)";
    return false;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!target_->insert_breakpoint(wanted[i].kind, wanted[i].address, wanted[i].length)) {
      unwatch({wanted.begin(), wanted.begin() + i});
      *error = "cannot watch that range";
      return false;
    }
  }
  *pieces = wanted;
  return true;
}

void ReplayDriver::unwatch(const std::vector<Point>& pieces) {
  for (const Point& p : pieces) target_->remove_breakpoint(p.kind, p.address, p.length);
}

bool ReplayDriver::watch(uint64_t address, uint64_t size, BreakpointKind kind, int* id,
                         std::string* error) {
  disarm();
  std::vector<Point> pieces;
  if (!watch_range(kind, address, size, &pieces, error)) return false;
  *id = next_point_++;
  points_[*id] = pieces;
  return true;
}

bool ReplayDriver::remove(int id, std::string* error) {
  disarm();
  auto it = points_.find(id);
  if (it == points_.end()) {
    *error = "no breakpoint or watchpoint " + std::to_string(id);
    return false;
  }
  unwatch(it->second);
  points_.erase(it);
  return true;
}

void ReplayDriver::lift_points() {
  points_lifted_ = true;
  for (const auto& [id, pieces] : points_) unwatch(pieces);
}

void ReplayDriver::restore_points() {
  points_lifted_ = false;
  for (const auto& [id, pieces] : points_) {
    for (const Point& p : pieces) target_->insert_breakpoint(p.kind, p.address, p.length);
  }
}

// ---- Memory, checkpoints ----

bool ReplayDriver::read(uint64_t address, size_t size, std::vector<uint8_t>* out,
                        std::string* error) {
  *out = target_->read_memory(address, size);
  if (out->size() == size) return true;
  char where[64];
  snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(address + out->size()));
  *error = std::string("cannot read memory at ") + where + ": not mapped in the replayed process";
  return false;
}

bool ReplayDriver::take_checkpoint(int* number, std::string* error) {
  bool ok;
  std::string text = monitor("checkpoint", &ok);
  if (!ok) {
    *error = text.rfind("rrx: ", 0) == 0 ? text.substr(5) : text;
    return false;
  }
  *number = atoi(text.c_str() + strlen("Checkpoint "));  // "Checkpoint N at event E"
  return true;
}

bool ReplayDriver::restart_checkpoint(int number, std::string* error) {
  bool ok;
  std::string text = monitor("restart " + std::to_string(number), &ok);
  if (!ok) *error = text.rfind("rrx: ", 0) == 0 ? text.substr(5) : text;
  return ok;
}

void ReplayDriver::drop_checkpoint(int number) { monitor("delete checkpoint " + std::to_string(number)); }

bool ReplayDriver::checkpoint(int* id, std::string* error) {
  disarm();
  int number;
  if (!take_checkpoint(&number, error)) return false;
  *id = next_checkpoint_++;
  checkpoints_[*id] = number;
  return true;
}

bool ReplayDriver::spin_off(bool live, int* pid, std::string* json, std::string* error) {
  disarm();
  SpunOff state;
  if (!target_->spin_off(live, true, &state, error)) return false;
  *pid = state.pid;
  *json = spin_off_json(state);
  return true;
}

bool ReplayDriver::restart(int id, std::string* error) {
  disarm();
  auto it = checkpoints_.find(id);
  if (it == checkpoints_.end()) {
    *error = "no checkpoint " + std::to_string(id);
    return false;
  }
  return restart_checkpoint(it->second, error);
}

// ---- Symbols ----

void ReplayDriver::load_symbols() {
  if (symbols_loaded_) return;
  std::string error;
  auto add = [&](const std::string& path, uint64_t bias) {
    auto elf = read_elf_symbols(path, &error);
    if (!elf) return;
    for (const ElfSymbol& s : elf->symbols) symbols_.push_back({s.name, s.value + bias, s.size});
  };
  std::string exe = executable();
  if (auto elf = read_elf_symbols(exe, &error)) {
    uint64_t entry = auxv_entry(target_->auxv(), AT_ENTRY);
    add(exe, elf->position_independent && entry ? entry - elf->entry : 0);
  }
  // Libraries the dynamic linker has loaded by now; look again later if
  // there are none yet.
  std::string xml = target_->libraries_svr4_xml();
  static const std::regex kLibrary("<library name=\"([^\"]*)\"[^>]*l_addr=\"0x([0-9a-f]+)\"");
  bool any = false;
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), kLibrary); it != std::sregex_iterator(); ++it) {
    add(xml_unescape((*it)[1]), strtoull((*it)[2].str().c_str(), nullptr, 16));
    any = true;
  }
  symbols_loaded_ = any;
}

bool ReplayDriver::symbol(const std::string& name, uint64_t* address, std::string* error) {
  load_symbols();
  for (const Symbol& s : symbols_) {
    if (s.name == name) {
      *address = s.address;
      return true;
    }
  }
  *error = "unknown symbol '" + name + "' (not in " + executable() + " or its loaded libraries)";
  return false;
}

std::string ReplayDriver::symbol_at(uint64_t address) {
  load_symbols();
  for (const Symbol& s : symbols_) {
    if (address >= s.address && address < s.address + std::max<uint64_t>(s.size, 1)) return s.name;
  }
  return "";
}

// ---- Write queries ----

bool ReplayDriver::at_store_into(uint64_t address, uint64_t size) {
  RegisterFile regs;
  if (!registers(&regs)) return false;
  std::vector<uint8_t> code = target_->read_memory(regs.gpr.rip, 15);
  return !code.empty() && will_store_into(code, regs.gpr, address, size);
}

bool ReplayDriver::last_write(uint64_t address, uint64_t size, std::optional<FoundWrite>* found,
                              std::string* error) {
  disarm();
  found->reset();
  FoundWrite w;
  // Nothing wrote the range after the write we look for: what it holds now
  // is what that write left.
  if (!read(address, size, &w.new_bytes, error)) return false;
  // To come back here if nothing wrote the range (a thread inside a
  // syscall cannot be checkpointed: the replay then stays at the start).
  int here = 0;
  std::string no_checkpoint;
  bool can_return = take_checkpoint(&here, &no_checkpoint);
  lift_points();
  // A reverse search does not count a watchpoint trap at the very point it
  // starts from: a store by the instruction just before now would be
  // missed when now is right after it (a breakpoint on the next
  // instruction). So step back over that instruction first and look at it.
  ResumeRequest request;
  request.direction = Direction::kReverse;
  request.action = ResumeRequest::Action::kStep;
  StopReason stop = target_->resume(request);
  bool previous_stores = stop.kind == StopReason::Kind::kSignal && at_store_into(address, size);
  if (stop.kind == StopReason::Kind::kSignal && !previous_stores) {
    std::vector<Point> pieces;
    if (!watch_range(BreakpointKind::kWriteWatch, address, size, &pieces, error)) {
      restore_points();
      if (can_return) {
        restart_checkpoint(here, error);
        drop_checkpoint(here);
      }
      return false;
    }
    request.action = ResumeRequest::Action::kContinue;
    stop = target_->resume(request);
    unwatch(pieces);
  }
  restore_points();
  bool ok = true;
  if (previous_stores || stop.kind == StopReason::Kind::kWatchpoint) {
    // At the writing instruction (the target steps back onto it).
    w.pc = pc();
    w.event = when();
    w.ticks = ticks();
    w.thread = stop.thread.tid;
    ok = read(address, size, &w.old_bytes, error);
    if (ok) *found = w;
  } else if (stop.kind != StopReason::Kind::kHistoryStart) {
    *error = "replay failed while searching backwards";
    ok = false;
  } else if (can_return) {
    ok = restart_checkpoint(here, error);
  }
  if (can_return) drop_checkpoint(here);
  return ok;
}

void ReplayDriver::disarm() {
  if (!armed_) return;
  unwatch(armed_->pieces);
  restore_points();
  armed_.reset();
}

ReplayDriver::Next ReplayDriver::next_write(uint64_t address, uint64_t size,
                                            std::optional<uint64_t> end,
                                            const Interrupted& interrupted, FoundWrite* found,
                                            std::string* error) {
  FoundWrite w;
  if (armed_ && armed_->address == address && armed_->size == size && armed_->last_new) {
    w.old_bytes = *armed_->last_new;
  } else if (!read(address, size, &w.old_bytes, error)) {
    return Next::kFailed;
  }
  if (end && when() >= *end) return Next::kNone;
  // The watchpoint stays armed from one write to the next (re-arming costs
  // ptrace calls per thread); any other use of the replay disarms it.
  if (armed_ && (armed_->address != address || armed_->size != size)) disarm();
  if (!armed_) {
    lift_points();
    std::vector<Point> pieces;
    if (!watch_range(BreakpointKind::kWriteWatch, address, size, &pieces, error)) {
      restore_points();
      return Next::kFailed;
    }
    armed_ = ArmedSearch{address, size, pieces};
  }
  // Straight to the target (not run()): this is the hot loop of writes(),
  // one stop per write, and the stop needs no more than what follows.
  bool by_user = false, reached_end = false;
  ResumeRequest request;
  request.interrupted = [&] {
    return (by_user = interrupted && interrupted()) || (reached_end = end && when() >= *end);
  };
  StopReason stop = target_->resume(request);
  if (stop.kind != StopReason::Kind::kWatchpoint) disarm();
  if (by_user) return Next::kInterrupted;
  if (reached_end || stop.kind == StopReason::Kind::kHistoryEnd ||
      stop.kind == StopReason::Kind::kExited) {
    return Next::kNone;
  }
  if (stop.kind != StopReason::Kind::kWatchpoint) {
    *error = "replay stopped for an unexpected reason";
    return Next::kFailed;
  }
  if (!read(address, size, &w.new_bytes, error)) return Next::kFailed;
  armed_->last_new = w.new_bytes;
  Registers regs;  // the general ones are all a store's address needs
  target_->read_general_registers(target_->current_thread(), &regs);
  std::vector<uint8_t> code = target_->read_memory(regs.rip - 15, 15);
  if (code.size() == 15) w.pc = writers_.find(code, regs, address, size);
  w.event = when();
  w.ticks = ticks();
  w.thread = stop.thread.tid;
  *found = w;
  return Next::kFound;
}

}  // namespace rrx
