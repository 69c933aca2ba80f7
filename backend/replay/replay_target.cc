#include "replay/replay_target.h"

#include <signal.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "core/printable.h"
#include "gdbserver/amd64_registers.h"
#include "core/tick_counter.h"
#include "replay/diversion.h"
#include "replay/inferior_info.h"
#include "replay/session_checkpoint.h"
#include "replay/trace_index.h"

namespace rrx {

namespace {

using Kind = StopReason::Kind;
using Result = ReplaySession::StepResult;

// Automatic checkpoints: one per this much forward replay, at most this
// many, thinned so that older history keeps fewer of them.
constexpr auto kAutoCheckpointInterval = std::chrono::milliseconds(250);
constexpr size_t kMaxAutoCheckpoints = 24;
// A reverse-stepi from the tick before now steps at most this far (code
// without counted branches can be long; the general way then takes over).
constexpr size_t kMaxStepsFromTick = 100000;
// reverse-continue with ticks searches this many ticks back from now first,
// then this many times further each time nothing was hit.
constexpr uint64_t kFirstTickWindow = 1024;
constexpr uint64_t kTickWindowGrowth = 16;
// How often a running resume looks for a Ctrl-C from the debugger.
constexpr auto kInterruptPollInterval = std::chrono::milliseconds(10);
// A resume that runs longer than this says how far it is, this often.
constexpr auto kProgressInterval = std::chrono::seconds(1);

constexpr const char* kMonitorHelp =
    "rrx monitor commands (in gdb and lldb also plain commands):\n"
    "  when                  the current event number\n"
    "  when-end              the last event of the trace\n"
    "  when-ticks            the debugged process's soft tick count\n"
    "  when-tid              the recorded tid of the thread being debugged\n"
    "  elapsed-time          the recording's time at the current event, in seconds\n"
    "  seek-ticks N          go to where the tick count is N\n"
    "  checkpoint            save this point (Checkpoint N at event E)\n"
    "  info checkpoints      list the checkpoints\n"
    "  delete checkpoint N   forget checkpoint N\n"
    "  restart N             go to checkpoint N\n"
    "  spin-off [--live]     copy the process here into one of its own, stopped\n"
    "                        (docs/spin-off.md); prints its pid and its state as JSON\n"
    "  help                  this list\n";

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

std::unique_ptr<ReplayTarget> ReplayTarget::create(const ReplayTargetOptions& options,
                                                   std::string* error) {
  // Reading the trace is much faster than replaying it to find out.
  if (!options.process.empty() || options.start_event > 0) {
    *error = check_trace_holds(options.trace_dir, options.process, options.start_event);
    if (!error->empty()) return nullptr;
  }
  auto session = ReplaySession::start(options.trace_dir, error);
  if (!session) return nullptr;
  session->set_echo_output(true, 2);  // stdout may be the debugger's channel
  std::unique_ptr<ReplayTarget> target(new ReplayTarget(std::move(session)));
  if (!target->start(options, error)) return nullptr;
  return target;
}

ReplayTarget::ReplayTarget(std::unique_ptr<ReplaySession> session)
    : session_(std::move(session)) {}

ReplayTarget::~ReplayTarget() {
  // Checkpoint copies must die before the session reaps what is left.
  diversion_.reset();
  auto_checkpoints_.clear();
  user_checkpoints_.clear();
}

// Replays until the chosen process exists and sits at a clean stop, makes
// it the focus, and takes the checkpoint that is the start of history.
bool ReplayTarget::start(const ReplayTargetOptions& options, std::string* error) {
  session_->check_tracer_cpuid();
  const TraceReader& trace = session_->trace();
  int32_t wanted = options.process.empty() ? trace.header().root_tid : 0;
  if (!options.process.empty() &&
      options.process.find_first_not_of("0123456789") == std::string::npos) {
    wanted = static_cast<int32_t>(std::stoul(options.process));
  }
  for (;;) {
    if (session_->current_event() >= options.start_event) {
      int32_t candidate = wanted ? wanted : find_process_by_name(*session_, options.process);
      if (candidate && session_->has_task(candidate) && session_->set_focus(candidate)) {
        auto cp = session_->checkpoint(error);
        if (cp) {
          auto_checkpoints_.push_back({cp, here()});
          last_auto_checkpoint_ = std::chrono::steady_clock::now();
          return true;
        }
        session_->set_focus(0);
      }
    }
    Result r = session_->step();
    if (r == Result::kError) {
      *error = session_->error();
      return false;
    }
    if (r != Result::kEvent) {
      *error = "process '" + (options.process.empty() ? std::to_string(wanted) : options.process) +
               "' does not appear in " + trace.dir() +
               (options.start_event ? " at or after event " + std::to_string(options.start_event) : "");
      return false;
    }
  }
}

Position ReplayTarget::here() { return position_of(*session_); }

// Where the focus thread stands, as executed (the key of conditions_).
uint64_t ReplayTarget::trap_address() {
  Task* task = session_->focus_task();
  Registers regs;
  return task && task->get_regs(&regs) ? regs.rip : 0;
}

// ---- Threads, registers, memory ----

std::vector<ThreadId> ReplayTarget::threads() {
  std::vector<ThreadId> ids;
  for (int32_t tid : session_->debugged_threads()) ids.push_back({session_->focus_process(), tid});
  return ids;
}

ThreadId ReplayTarget::current_thread() { return {session_->focus_process(), session_->focus()}; }

Task* ReplayTarget::thread_task(const ThreadId& thread, const ReplayTask** state) {
  int32_t tid = thread.tid ? thread.tid : session_->focus();
  const ReplayTask* t = session_->task(tid);
  *state = t;
  if (diversion_ && tid == session_->focus()) return &diversion_->task();
  return t ? t->task.get() : nullptr;
}

bool ReplayTarget::read_general_registers(const ThreadId& thread, Registers* regs) {
  const ReplayTask* t;
  Task* task = thread_task(thread, &t);
  if (!task || !task->get_regs(regs)) return false;
  // Inside a tick stub the thread stands for a program instruction.
  if (t && t->patches) regs->rip = t->patches->to_original(regs->rip).orig_pc;
  return true;
}

bool ReplayTarget::read_registers(const ThreadId& thread, RegisterFile* regs) {
  const ReplayTask* t;
  Task* task = thread_task(thread, &t);
  if (!task || !read_general_registers(thread, &regs->gpr)) return false;
  task->get_fpregs(&regs->fpr);
  task->get_ymmh(regs->ymmh);
  return true;
}

// gdb sets orig_rax to -1 after every `run` (so that no syscall restarts):
// a write that changes nothing else is accepted and ignored. Any other
// write goes to a diversion (a copy of the process), made on the first one.
bool ReplayTarget::write_registers(const ThreadId& thread, const RegisterFile& regs,
                                   std::string* error) {
  RegisterFile now;
  if (read_registers(thread, &now)) {
    now.gpr.orig_rax = regs.gpr.orig_rax;
    if (memcmp(&now, &regs, sizeof now) == 0) return true;
  }
  if ((thread.tid && thread.tid != session_->focus()) || !divert(error)) {
    if (error->empty()) *error = "rrx: only the current thread's registers can be changed";
    fprintf(stderr, "%s\n", error->c_str());
    return false;
  }
  Registers gpr = regs.gpr;
  Registers real;
  // The debugger names program addresses: keep a pc that stands for the
  // same instruction inside a tick stub.
  const ReplayTask* t = session_->task(session_->focus());
  if (diversion_->task().get_regs(&real) && t && t->patches &&
      t->patches->to_original(real.rip).orig_pc == gpr.rip) {
    gpr.rip = real.rip;
  }
  return diversion_->task().set_regs(gpr);  // (x87/SSE registers are not written)
}

// The first write of the debugger forks the process: the replay itself
// never changes.
bool ReplayTarget::divert(std::string* error) {
  if (diversion_) return true;
  Task* task = session_->focus_task();
  std::string why;
  // The copy is forked by a syscall the thread makes: only from a stop the
  // replay has collected and where returning to user code is harmless (not
  // inside a syscall the replay let run, whose end it still waits for).
  bool forkable = session_->focus_at_clean_stop();
  if (task && !forkable) why = "the thread is inside a syscall";
  if (task && forkable) diversion_ = Diversion::start(*task, &why);
  if (!diversion_) {
    *error = "rrx: cannot change the program here (" + (task ? why : "no thread") +
             "); the recorded history itself cannot change";
    return false;
  }
  fprintf(stderr,
          "rrx: the program is changed in a diversion, a copy of it; the replay goes back to the "
          "recording when it moves on\n");
  return true;
}

void ReplayTarget::end_diversion() {
  if (!diversion_) return;
  diversion_.reset();
  fprintf(stderr, "rrx: diversion discarded: back to the recording\n");
}

// What the debugger changed is undone (gdb restores the registers after
// `print f(3)`; a `set var` changes memory only): the replay can go on.
bool ReplayTarget::diversion_is_replay() {
  Registers diverted, replayed;
  Task* task = session_->focus_task();
  if (!task || !diversion_->task().get_regs(&diverted) || !task->get_regs(&replayed)) return true;
  diverted.orig_rax = replayed.orig_rax;
  return memcmp(&diverted, &replayed, sizeof diverted) == 0;
}

StopReason ReplayTarget::run_diversion(const ResumeRequest& request) {
  Diversion::Breakpoints int3s;
  Task* task = session_->focus_task();
  for (uint64_t address : user_breakpoints_) {
    uint8_t byte = 0;
    if (task && task->read_mem(address, &byte, 1)) {
      session_->breakpoints().shadow(address, &byte, 1);
      int3s[address] = byte;
    }
  }
  bool step = request.action == ResumeRequest::Action::kStep;
  Diversion::Stop stop = diversion_->run(step, request.signal, int3s, request.interrupted);
  switch (stop.outcome) {
    case Diversion::Outcome::kBreakpoint: return stop_here(Kind::kBreakpoint);
    case Diversion::Outcome::kStepped: return stop_here(Kind::kSignal);
    case Diversion::Outcome::kSignal: {
      StopReason reason = stop_here(Kind::kSignal);
      reason.signal = stop.signal;
      return reason;
    }
    case Diversion::Outcome::kGone: break;
  }
  fprintf(stderr, "rrx: the diversion's process ended\n");
  end_diversion();
  StopReason reason = stop_here(Kind::kSignal);
  reason.signal = SIGKILL;
  return reason;
}

std::vector<uint8_t> ReplayTarget::read_memory(uint64_t address, size_t length) {
  Task* task = diversion_ ? &diversion_->task() : session_->focus_task();
  std::vector<uint8_t> data;
  if (!task) return data;
  // Page by page, so an unmapped page only ends the read there.
  while (data.size() < length) {
    uint64_t at = address + data.size();
    size_t n = std::min<size_t>(length - data.size(), 4096 - (at & 4095));
    size_t old = data.size();
    data.resize(old + n);
    if (!task->read_mem(at, data.data() + old, n)) {
      data.resize(old);
      break;
    }
  }
  session_->breakpoints().shadow(address, data.data(), data.size());
  session_->displaced_steps().shadow(address, data.data(), data.size());
  // The program's own bytes, not the tick instrumentation's.
  const ReplayTask* t = session_->task(session_->focus());
  if (t && t->patches) t->patches->show_original(address, data.data(), data.size());
  return data;
}

bool ReplayTarget::write_memory(uint64_t address, const std::vector<uint8_t>& data,
                                std::string* error) {
  if (!divert(error)) {
    fprintf(stderr, "%s\n", error->c_str());
    return false;
  }
  if (diversion_->task().write_mem(address, data.data(), data.size())) return true;
  *error = "rrx: cannot write memory at " + hex(address);
  return false;
}

// ---- Breakpoints and watchpoints ----

// A program instruction that tick instrumentation moved into a stub runs
// at its copy there: that is where a breakpoint on it must go. One that a
// chained stub copies (a gap's) runs in place and at its copy: both.
std::vector<uint64_t> ReplayTarget::executed_addresses(uint64_t address) const {
  const ReplayTask* t = session_->task(session_->focus());
  if (!t || !t->patches) return {address};
  std::vector<uint64_t> at{t->patches->to_real(address).value_or(address)};
  if (std::optional<uint64_t> copy = t->patches->gap_copy(address)) at.push_back(*copy);
  return at;
}

bool ReplayTarget::insert_breakpoint(BreakpointKind kind, uint64_t address, size_t length) {
  Task* task = session_->focus_task();
  if (!task) return false;
  if (kind == BreakpointKind::kSoftware || kind == BreakpointKind::kHardware) {
    for (uint64_t at : executed_addresses(address)) {
      if (user_breakpoints_.count(at)) continue;
      if (!session_->breakpoints().insert(*task, at)) return false;
      user_breakpoints_.insert(at);
      uint8_t int3 = 0xcc;
      if (diversion_) diversion_->task().write_mem(at, &int3, 1);
    }
    return true;
  }
  WatchKind watch = kind == BreakpointKind::kWriteWatch  ? WatchKind::kWrite
                    : kind == BreakpointKind::kReadWatch ? WatchKind::kRead
                                                         : WatchKind::kAccess;
  std::vector<Watchpoint> wanted = watchpoints_;
  wanted.push_back({address, length, watch});
  if (!session_->set_watchpoints(wanted)) return false;
  watchpoints_ = wanted;
  return true;
}

bool ReplayTarget::set_breakpoint_conditions(uint64_t address,
                                             const std::vector<AgentExpression>& conditions) {
  for (uint64_t at : executed_addresses(address)) {
    if (conditions.empty()) conditions_.erase(at);
    else conditions_[at] = conditions;
  }
  return true;
}

bool ReplayTarget::breakpoint_condition_holds(uint64_t address) {
  auto it = conditions_.find(address);
  if (it == conditions_.end()) return true;
  // Only the registers the condition names are read, the x87/SSE/AVX state
  // (two more ptrace calls) only if it names one of those.
  RegisterFile regs;
  enum { kNone, kGeneral, kAll } have = kNone;
  auto reg = [&](int regno, std::vector<uint8_t>* out) {
    bool general = amd64::is_general_register(regno);
    if (have == kNone && general) {
      if (!read_general_registers(current_thread(), &regs.gpr)) return false;
      have = kGeneral;
    } else if (have != kAll && !general) {
      if (!read_registers(current_thread(), &regs)) return false;
      have = kAll;
    }
    return amd64::get_register(regs, regno, out);
  };
  return any_condition_holds_reading(it->second, reg, [this](uint64_t at, void* out, size_t size) {
    std::vector<uint8_t> bytes = read_memory(at, size);
    if (bytes.size() != size) return false;
    memcpy(out, bytes.data(), size);
    return true;
  });
}

bool ReplayTarget::remove_breakpoint(BreakpointKind kind, uint64_t address, size_t length) {
  Task* task = session_->focus_task();
  if (!task) return false;
  if (kind == BreakpointKind::kSoftware || kind == BreakpointKind::kHardware) {
    for (uint64_t at : executed_addresses(address)) {
      conditions_.erase(at);
      if (user_breakpoints_.erase(at)) {
        session_->breakpoints().remove(*task, at);
        uint8_t original;
        if (diversion_ && task->read_mem(at, &original, 1)) {
          diversion_->task().write_mem(at, &original, 1);
        }
      }
    }
    return true;
  }
  auto it = std::find_if(watchpoints_.begin(), watchpoints_.end(), [&](const Watchpoint& w) {
    return w.addr == address && w.len == length;
  });
  if (it == watchpoints_.end()) return true;
  watchpoints_.erase(it);
  return session_->set_watchpoints(watchpoints_);
}

// ---- Running ----

StopReason ReplayTarget::stop_here(Kind kind) {
  StopReason stop;
  stop.kind = kind;
  stop.thread = current_thread();
  return stop;
}

StopReason ReplayTarget::report(const ReplaySession::Trap& trap) {
  if (trap.kind == ReplaySession::Trap::Kind::kBreakpoint) return stop_here(Kind::kBreakpoint);
  if (trap.kind == ReplaySession::Trap::Kind::kWatchpoint && trap.watchpoint >= 0 &&
      static_cast<size_t>(trap.watchpoint) < watchpoints_.size()) {
    const Watchpoint& w = watchpoints_[trap.watchpoint];
    StopReason stop = stop_here(Kind::kWatchpoint);
    stop.address = w.addr;
    stop.breakpoint = w.kind == WatchKind::kWrite  ? BreakpointKind::kWriteWatch
                      : w.kind == WatchKind::kRead ? BreakpointKind::kReadWatch
                                                   : BreakpointKind::kAccessWatch;
    return stop;
  }
  return stop_here(Kind::kSignal);  // SIGTRAP: a finished step
}

// A search given up because of Ctrl-C is not a failure: the stop is where
// the replay is.
StopReason ReplayTarget::replay_failed(const std::string& what) {
  if (interrupted_) return interrupted_here();
  const std::string& why = session_->error().empty() ? what : session_->error();
  fprintf(stderr, "rrx: %s\n", printable(why).c_str());
  return stop_here(Kind::kHistoryEnd);
}

StopReason ReplayTarget::history_end() {
  std::string early = session_->early_end();
  if (!early.empty() && !told_early_end_) {
    fprintf(stderr, "rrx: %s\n", printable(early).c_str());
    told_early_end_ = true;
  }
  return stop_here(Kind::kHistoryEnd);
}

bool ReplayTarget::stop_requested() {
  if (interrupted_ || (!request_.interrupted && !request_.progress)) return interrupted_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_interrupt_poll_ < kInterruptPollInterval) return false;
  last_interrupt_poll_ = now;
  report_progress(now);
  interrupted_ = request_.interrupted && request_.interrupted();
  return interrupted_;
}

// A reverse search goes over the same events more than once: the event
// shown is where the replay is, not a steady count.
void ReplayTarget::report_progress(std::chrono::steady_clock::time_point now) {
  if (!request_.progress || now - resume_started_ < kProgressInterval ||
      now - last_progress_ < kProgressInterval) {
    return;
  }
  last_progress_ = now;
  uint64_t last = session_->trace().summary().event_count;
  request_.progress("rrx: " + std::string(request_.direction == Direction::kReverse ? "searching back, at" : "at") +
                    " event " + std::to_string(session_->current_event()) +
                    (last ? " of " + std::to_string(last) : "") + "\n");
}

// Wherever a search was when Ctrl-C came is a point of the history like
// any other: the debugger stops there with SIGINT.
StopReason ReplayTarget::interrupted_here() {
  session_->request_single_step(false);
  StopReason stop = stop_here(Kind::kSignal);
  stop.signal = SIGINT;
  return stop;
}

StopReason ReplayTarget::resume(const ResumeRequest& request) {
  session_->check_tracer_cpuid();
  if (request.thread && request.thread->tid > 0) session_->set_focus(request.thread->tid);
  if (diversion_) {
    if (request.direction == Direction::kForward && !diversion_is_replay()) {
      return run_diversion(request);
    }
    end_diversion();
  }
  request_ = request;
  interrupted_ = false;
  last_interrupt_poll_ = {};
  resume_started_ = last_progress_ = std::chrono::steady_clock::now();
  // Computation with no event for long is stopped now and then to look.
  if (request.interrupted) session_->set_interrupt_check([this] { return stop_requested(); });
  StopReason stop;
  if (request.direction == Direction::kForward) {
    stop = forward(request.action == ResumeRequest::Action::kStep);
  } else if (request.action == ResumeRequest::Action::kStep) {
    stop = reverse_step();
  } else {
    stop = reverse_continue();
  }
  session_->set_interrupt_check(nullptr);
  request_ = {};
  return stop;
}

StopReason ReplayTarget::forward(bool single_step) {
  session_->request_single_step(single_step);
  for (;;) {
    Result r = session_->step();
    switch (r) {
      case Result::kEvent:
        maybe_auto_checkpoint();
        if (auto stop = event_stop()) {
          session_->request_single_step(false);
          return *stop;
        }
        if (stop_requested()) return interrupted_here();
        continue;
      case Result::kTrap: {
        const ReplaySession::Trap& trap = session_->trap();
        if (trap.kind == ReplaySession::Trap::Kind::kInterrupt) return interrupted_here();
        // A hit whose condition is false goes on, without a word to the debugger.
        if (trap.kind == ReplaySession::Trap::Kind::kBreakpoint && !single_step &&
            !breakpoint_condition_holds(trap_address())) {
          if (stop_requested()) return interrupted_here();
          continue;
        }
        return report(trap);
      }
      case Result::kFocusEnd:
        session_->request_single_step(false);
        return stop_here(Kind::kHistoryEnd);
      case Result::kEnd:
        session_->request_single_step(false);
        return history_end();
      case Result::kError:
        return replay_failed("replay failed");
    }
  }
}

bool ReplayTarget::is_caught_syscall(const ReplaySession::EventSummary& event) const {
  bool syscall = event.kind == EventKind::kSyscallEntry || event.kind == EventKind::kSyscallExit;
  return syscall && request_.catch_syscalls &&
         (request_.syscalls.empty() || request_.syscalls.count(event.syscall_no));
}

StopReason ReplayTarget::syscall_stop(const ReplaySession::EventSummary& event) {
  StopReason stop = stop_here(event.kind == EventKind::kSyscallEntry ? Kind::kSyscallEntry
                                                                      : Kind::kSyscallExit);
  stop.syscall = event.syscall_no;
  return stop;
}

// The thread stops at the delivery of a recorded signal as a live one
// would: for a fault, at the faulting instruction, before the signal acts.
std::optional<StopReason> ReplayTarget::event_stop() {
  const ReplaySession::EventSummary& event = session_->last_event();
  if (event.seq == 0 || !session_->in_focus_process(event.tid)) return std::nullopt;
  bool signal = event.kind == EventKind::kSignal && !request_.pass_signals.count(event.signo);
  if (!signal && !is_caught_syscall(event)) return std::nullopt;
  session_->set_focus(event.tid);
  if (!signal) return syscall_stop(event);
  StopReason stop = stop_here(Kind::kSignal);
  stop.signal = event.signo;
  return stop;
}

void ReplayTarget::maybe_auto_checkpoint() {
  auto now = std::chrono::steady_clock::now();
  if (!session_->focus_at_event() || now - last_auto_checkpoint_ < kAutoCheckpointInterval ||
      session_->current_event() <= auto_checkpoints_.back().position.event) {
    return;
  }
  std::string error;
  auto cp = session_->checkpoint(&error);
  if (!cp) return;  // some thread is mid-syscall; try at a later event
  last_auto_checkpoint_ = now;
  auto_checkpoints_.push_back({cp, here()});
  if (auto_checkpoints_.size() <= kMaxAutoCheckpoints) return;
  // Drop the checkpoint whose neighbours are closest, weighting by age so
  // that old history thins out first. The start of history always stays.
  uint64_t latest = auto_checkpoints_.back().position.event;
  size_t victim = 1;
  double best = 1e300;
  for (size_t i = 1; i + 1 < auto_checkpoints_.size(); ++i) {
    double gap = static_cast<double>(auto_checkpoints_[i + 1].position.event -
                                     auto_checkpoints_[i - 1].position.event);
    double age = static_cast<double>(latest - auto_checkpoints_[i].position.event) + 1;
    if (gap / age < best) {
      best = gap / age;
      victim = i;
    }
  }
  auto_checkpoints_.erase(auto_checkpoints_.begin() + victim);
}

const ReplayTarget::Checkpoint* ReplayTarget::checkpoint_before(const Position& target) const {
  for (auto it = auto_checkpoints_.rbegin(); it != auto_checkpoints_.rend(); ++it) {
    if (certainly_before(it->position, target)) return &*it;
  }
  return nullptr;
}

bool ReplayTarget::restore(const Checkpoint& checkpoint) {
  std::string error;
  if (!session_->restore(*checkpoint.state, &error)) {
    fprintf(stderr, "rrx: cannot restore a checkpoint: %s\n", error.c_str());
    return false;
  }
  return true;
}

bool ReplayTarget::run_to(const Position& target, const HitCallback& on_hit) {
  Task* task = session_->focus_task();
  bool use_breakpoint = !target.at_event && task;
  // With ticks the breakpoint on the target's instruction goes in only once
  // the count has got there, so a target inside a loop is not hit on every
  // earlier iteration.
  bool breakpoint_in = false;
  bool reached = false;
  for (;;) {
    if (stop_requested()) break;
    // A position is a thread's: look at the target's thread (a trap in
    // another thread moves the focus there).
    if (target.tid && session_->focus() != target.tid) session_->set_focus(target.tid);
    Position now = quick_position_of(*session_);
    if (now.event > target.event) break;
    if (now.event == target.event && target.at_event && now.at_event) {
      reached = true;
      break;
    }
    if (use_breakpoint && !breakpoint_in && (target.ticks == 0 || now.event == target.event)) {
      if (target.ticks && session_->focus() == target.tid &&
          session_->focus_can_run_to_ticks(target.ticks) &&
          !session_->run_focus_to_ticks(
              target.ticks,
              on_hit ? std::function<void()>([&] {
                on_hit({quick_position_of(*session_), session_->trap(), {}});
              })
                     : nullptr)) {
        break;
      }
      if (!session_->focus_task() ||
          !session_->breakpoints().insert(*session_->focus_task(), target.regs.rip)) {
        return false;
      }
      breakpoint_in = true;
      if (same_position(here(), target)) {
        reached = true;
        break;
      }
    }
    Result r = session_->step();
    if (r == Result::kTrap) {
      // Most traps are other points: the stack and the count are read only
      // for one that may be the target.
      Position p = quick_position_of(*session_);
      if (maybe_same_position(p, target) && same_position(p = here(), target)) {
        reached = true;
        break;
      }
      if (on_hit) on_hit({p, session_->trap(), {}});
    } else if (r == Result::kEvent) {
      Position p = here();
      // (An event that is the target itself is met at the top of the loop.)
      if (on_hit && p.at_event && (p.event < target.event || !target.at_event)) {
        ReplaySession::Trap none;
        none.kind = ReplaySession::Trap::Kind::kStep;
        on_hit({p, none, session_->last_event()});
      }
    } else {
      if (r == Result::kError) replay_failed("replay failed while searching backwards");
      break;
    }
  }
  if (breakpoint_in && session_->focus_task()) {
    session_->breakpoints().remove(*session_->focus_task(), target.regs.rip);
  }
  return reached;
}

bool ReplayTarget::step_once(const Position* stop_at) {
  Position before = here();
  int32_t tid = session_->focus();
  session_->request_single_step(true);
  for (;;) {
    if (stop_requested()) return false;
    switch (session_->step()) {
      case Result::kTrap:
        // Another thread's breakpoint on the way: the step is still this
        // thread's, which goes on.
        if (session_->focus() != tid && session_->set_focus(tid)) continue;
        return true;
      case Result::kEvent:
        // A position at an event (a syscall's entry or exit) is a step of
        // its own when stepping towards it.
        if (stop_at && same_position(here(), *stop_at)) {
          session_->request_single_step(false);
          return true;
        }
        continue;  // e.g. the entry and exit of a stepped-over syscall
      case Result::kFocusEnd:
        // Stepping onto the exit syscall ends history; stepping at it fails.
        session_->request_single_step(false);
        return !same_position(here(), before);
      case Result::kError:
        replay_failed("replay failed while stepping");
        return false;
      case Result::kEnd:
        return false;
    }
  }
}

StopReason ReplayTarget::history_start() {
  restore(auto_checkpoints_.front());
  return stop_here(Kind::kHistoryStart);
}

// Called at the hit itself (conditions are evaluated on the live state).
bool ReplayTarget::is_debugger_stop(const Hit& hit) {
  if (hit.event.seq != 0) return hit.event.tid == hit.position.tid && is_caught_syscall(hit.event);
  if (hit.trap.kind == ReplaySession::Trap::Kind::kWatchpoint) return true;
  return hit.trap.kind == ReplaySession::Trap::Kind::kBreakpoint &&
         is_user_breakpoint(hit.position.regs.rip) &&
         breakpoint_condition_holds(hit.position.regs.rip);
}

// Shows the last hit found by a reverse search: a watchpoint's trap comes
// after the writing instruction, so step back onto the write itself.
StopReason ReplayTarget::stop_at_hit(const Hit& hit) {
  if (hit.event.seq != 0) return syscall_stop(hit.event);
  if (hit.trap.kind == ReplaySession::Trap::Kind::kWatchpoint) {
    StopReason stepped = reverse_step();
    if (stepped.kind == Kind::kHistoryStart) return stepped;
  }
  return report(hit.trap);
}

// Replays events up to `event` with the debugger's breakpoints and
// watchpoints lifted (a hit on the way is of no interest), calling
// `after_each` after every one. False if replay failed.
bool ReplayTarget::replay_events_to(uint64_t event, const std::function<void()>& after_each) {
  Task* task = session_->focus_task();
  if (!task) return false;
  for (uint64_t address : user_breakpoints_) session_->breakpoints().remove(*task, address);
  session_->set_watchpoints({});
  bool ok = true;
  while (ok && session_->current_event() < event && !stop_requested()) {
    Result r = session_->step();
    ok = r == Result::kEvent || r == Result::kTrap;
    if (ok && after_each) after_each();
  }
  if ((task = session_->focus_task())) {
    for (uint64_t address : user_breakpoints_) session_->breakpoints().insert(*task, address);
  }
  session_->set_watchpoints(watchpoints_);
  // (A step past an event also applies the code patches made at its stop,
  // events of their own at the same place: it may end past `event`.)
  return ok && session_->current_event() >= event;
}

// The focus process's tick count after each event from the restored
// checkpoint up to `last_event`, the first entry being the checkpoint
// itself: one plain replay. Empty if replay failed.
std::vector<ReplayTarget::EventTicks> ReplayTarget::ticks_at_events(uint64_t last_event) {
  std::vector<EventTicks> counts;
  auto count_now = [&] {
    Task* t = session_->focus_task();
    counts.push_back({session_->current_event(), session_->current_event_tid(),
                      t ? read_ticks(*t) : 0});
  };
  count_now();
  if (!replay_events_to(last_event, count_now)) counts.clear();
  return counts;
}

// With ticks, reverse-continue looks only a little way back first: from
// the interval's checkpoint it goes (breakpoints lifted) to where the count
// was `window` ticks short of now's, searches from there to now, and widens
// the window until a hit turns up, so a loop hitting its breakpoint on
// every iteration costs a few hundred hits, not one per iteration since
// the checkpoint. Once the window holds the whole interval, the interval
// is searched from its checkpoint. kUnusable if ticks cannot place the
// thread (the caller then searches the interval as without ticks).
ReplayTarget::TickSearch ReplayTarget::reverse_continue_by_ticks(const Position& target,
                                                                 const Checkpoint* from,
                                                                 StopReason* stop) {
  if (target.ticks == 0 || !restore(*from)) return TickSearch::kUnusable;
  // The events whose stretch may hold the start: up to now's (at an event,
  // the one before it ends the stretch leading here).
  uint64_t last_event = target.at_event ? target.event - 1 : target.event;
  auto counts = ticks_at_events(last_event);
  if (counts.empty() || counts.back().event != last_event) return TickSearch::kUnusable;
  for (uint64_t window = kFirstTickWindow;; window *= kTickWindowGrowth) {
    uint64_t start = window < target.ticks ? target.ticks - window : 0;
    // The latest event after which the count was still short of `start`;
    // the thread of the event after it is the one running when the count
    // got there (threads run user code one at a time), or now's.
    auto before = std::find_if(counts.rbegin(), counts.rend(),
                               [&](const EventTicks& c) { return c.ticks < start; });
    bool whole_interval = before == counts.rend();
    int32_t runner = whole_interval || before == counts.rbegin() ? target.tid : (before - 1)->tid;
    auto go_to_start = [&] {
      if (!restore(*from)) return false;
      if (whole_interval) return true;
      if (!replay_events_to(before->event)) return false;
      if (session_->has_task(runner)) session_->set_focus(runner);
      return session_->focus() == runner && session_->run_focus_to_ticks(start);
    };
    if (!go_to_start()) return TickSearch::kUnusable;
    std::optional<Hit> last;
    if (!run_to(target, [&](const Hit& hit) {
          if (!is_debugger_stop(hit)) return;
          last = hit;
          last->position = here();
        })) {
      return TickSearch::kUnusable;
    }
    if (last) {
      if (!go_to_start() || !run_to(last->position, nullptr)) {
        *stop = replay_failed("cannot return to the last hit");
      } else {
        *stop = stop_at_hit(*last);
      }
      return TickSearch::kFound;
    }
    if (whole_interval) return TickSearch::kNoHit;
  }
}

// The last breakpoint or watchpoint hit before now: first near now by
// ticks, then in each interval between checkpoints, latest first.
StopReason ReplayTarget::reverse_continue() {
  Position target = here();
  for (;;) {
    const Checkpoint* from = checkpoint_before(target);
    if (!from) return history_start();
    StopReason stop;
    TickSearch by_ticks = reverse_continue_by_ticks(target, from, &stop);
    if (by_ticks == TickSearch::kFound) return stop;
    if (by_ticks == TickSearch::kNoHit) {
      target = from->position;  // search the interval before this one
      continue;
    }
    if (!restore(*from)) return replay_failed("cannot restore a checkpoint");
    bool have_hit = false;
    Hit last;
    // Checkpoints taken at hits on the way (hit stops can be forked), so
    // going back to the last hit need not re-run the whole interval.
    Checkpoint near{nullptr, from->position};
    Checkpoint near_before_last = near;
    auto last_fork = std::chrono::steady_clock::now();
    bool reached = run_to(target, [&](const Hit& hit) {
      if (!is_debugger_stop(hit)) return;
      last = hit;
      last.position = here();
      have_hit = true;
      near_before_last = near;
      auto now = std::chrono::steady_clock::now();
      if (now - last_fork >= kAutoCheckpointInterval) {
        std::string error;
        if (auto cp = session_->checkpoint(&error)) near = {cp, last.position};
        last_fork = now;
      }
    });
    if (!reached) return replay_failed("lost the current position while searching backwards");
    if (!have_hit) {
      target = from->position;  // search the interval before this one
      continue;
    }
    // The last hit is `near` itself when a checkpoint was taken there.
    bool at_last = near.state && same_position(near.position, last.position);
    const Checkpoint& start = at_last ? near : (near_before_last.state ? near_before_last : *from);
    if (!restore(start) || (!at_last && !run_to(last.position, nullptr))) {
      return replay_failed("cannot return to the last hit");
    }
    return stop_at_hit(last);
  }
}

// The point one instruction before now: find the latest point we can name
// before it, then single-step from there.
// With ticks, the point where the count reached one less than now's lies
// just before now (at most one branch-free stretch): replay the events up
// to now's last one, then let the counter stop the thread there; if the
// count is already that high at the event, the event itself is that
// point. False if that does not apply; the session must then be restored.
bool ReplayTarget::run_to_tick_before(const Position& target) {
  if (target.at_event || target.ticks == 0 || !replay_events_to(target.event)) return false;
  if (session_->has_task(target.tid)) session_->set_focus(target.tid);
  Task* task = session_->focus_task();
  if (!task || session_->focus() != target.tid) return false;
  uint64_t ticks = read_ticks(*task);
  if (ticks + 1 >= target.ticks) return ticks <= target.ticks;
  return session_->run_focus_to_ticks(target.ticks - 1);
}

// From the tick before `target`, the number of single steps to it (0 if
// not found within kMaxStepsFromTick).
size_t ReplayTarget::steps_from_tick_before(const Position& target) {
  size_t steps = 0;
  while (!same_position(here(), target)) {
    if (steps == kMaxStepsFromTick || !step_once()) return 0;
    ++steps;
  }
  return steps;
}

// Threads run user code one at a time: the focus thread may have run no
// instruction since its last event while another thread ran (the user
// switched threads). Its previous instruction is then the one before that
// event: goes to the point just after it, which stands for the same state
// of the thread. False if that event cannot be found or reached.
bool ReplayTarget::go_to_last_event_of_focus(const Position& now) {
  const ReplayTask* t = session_->task(now.tid);
  if (!t || t->last_seq == 0) return false;
  Position last;
  last.event = t->last_seq;
  const Checkpoint* from = checkpoint_before(last);
  return from && restore(*from) && replay_events_to(last.event) && session_->set_focus(now.tid);
}

StopReason ReplayTarget::reverse_step() {
  Position target = here();
  int32_t runner = target.at_event ? session_->current_event_tid() : session_->next_event_tid();
  if (runner != 0 && runner != target.tid) {
    if (!go_to_last_event_of_focus(target)) {
      return replay_failed("cannot find where thread " + std::to_string(target.tid) + " last ran");
    }
    target = here();
  }
  const Checkpoint* from = checkpoint_before(target);
  if (!from) return history_start();
  if (!restore(*from)) return replay_failed("cannot restore a checkpoint");
  // Fast, with ticks: from the tick before now, step to one instruction
  // short of now. Anything unexpected: the general way below.
  size_t fast_steps = run_to_tick_before(target) ? steps_from_tick_before(target) : 0;
  if (fast_steps > 0) {
    if (!restore(*from)) return replay_failed("cannot restore a checkpoint");
    if (run_to_tick_before(target)) {
      if (session_->has_task(target.tid)) session_->set_focus(target.tid);
      size_t done = 0;
      while (done + 1 < fast_steps && step_once()) ++done;
      if (done + 1 == fast_steps) return stop_here(Kind::kSignal);
    }
  }
  if (!restore(*from)) return replay_failed("cannot restore a checkpoint");
  // Only the target's own thread can be stepped to it: another thread's
  // points (its breakpoint hits) between them name no point of this one.
  Position known = from->position;
  if (!run_to(target, [&](const Hit& hit) {
        // The events of the syscall the target is at (its entry, exit, a
        // fork's new task) are not instructions before it: the step that
        // executes the syscall goes through them. (Leaving out an earlier
        // syscall that looks the same, or an event met while the thread's
        // registers were not read, only makes the steps start earlier.)
        bool same_syscall = hit.position.at_event && target.at_event &&
                            (hit.position.regs.rsp == target.regs.rsp || hit.position.regs.rsp == 0);
        if (hit.position.tid == target.tid && !same_syscall) known = here();
      })) {
    return replay_failed("lost the current position while stepping backwards");
  }
  if (!restore(*from) || !run_to(known, nullptr)) {
    return replay_failed("cannot return to a point before the current one");
  }
  if (session_->has_task(target.tid)) session_->set_focus(target.tid);
  // Step to the current position, keeping a checkpoint every few thousand
  // steps, then come back to the last one and step to just before it.
  constexpr size_t kStepsPerCheckpoint = 2000;
  std::string error;
  Checkpoint latest{session_->checkpoint(&error), known};
  size_t latest_at = 0, steps = 0;
  while (!same_position(here(), target)) {
    if (!step_once(&target)) return replay_failed("stepped past the current position");
    ++steps;
    if (steps % kStepsPerCheckpoint == 0) {
      if (auto cp = session_->checkpoint(&error)) {
        latest = {cp, here()};
        latest_at = steps;
      }
    }
  }
  if (steps == 0) return replay_failed("no instruction before the current position");
  if (latest_at == steps) {  // the checkpoint is the current position itself
    latest_at = 0;
    latest = {nullptr, known};
  }
  bool back = latest.state ? restore(latest) : restore(*from) && run_to(known, nullptr);
  if (!back) return replay_failed("cannot return to a point before the current one");
  if (session_->has_task(target.tid)) session_->set_focus(target.tid);
  for (size_t i = latest_at + 1; i < steps; ++i) {
    if (!step_once(&target)) return replay_failed("replay failed while stepping");
  }
  return stop_here(Kind::kSignal);
}

// ---- Starting over ----

bool ReplayTarget::restart(uint64_t event, std::string* error) {
  session_->check_tracer_cpuid();
  end_diversion();
  interrupted_ = false;  // (an earlier run's stop, not this one's)
  if (!restore(auto_checkpoints_.front())) {
    *error = "rrx: cannot go back to the start of the replay";
    return false;
  }
  if (event <= session_->current_event()) return true;
  if (!replay_events_to(event) || !session_->focus_task()) {
    // gdb shows its own words for a failed `run`: say ours on the terminal.
    *error = "rrx: event " + std::to_string(event) + " is beyond the history of the debugged process";
    fprintf(stderr, "%s\n", error->c_str());
    restore(auto_checkpoints_.front());
    return false;
  }
  return true;
}

// To the point where the focus process's tick count is `ticks`: find the
// last event after which the count is still short of it, then from there
// let the counter stop the thread that runs next (threads run user code
// one at a time). If the count gets there only at an event, that event.
bool ReplayTarget::seek_ticks(uint64_t ticks, std::string* error) {
  if (here().ticks == 0) {
    *error = "rrx: the program does not count soft ticks";
    return false;
  }
  const Checkpoint* from = &auto_checkpoints_.front();
  for (const Checkpoint& cp : auto_checkpoints_) {
    if (cp.position.ticks && cp.position.ticks < ticks) from = &cp;
  }
  auto count = [&] {
    Task* task = session_->focus_task();
    return task ? read_ticks(*task) : 0;
  };
  if (!restore(*from)) return false;
  uint64_t short_at = session_->current_event(), reached_at = 0;
  for (;;) {
    if (count() >= ticks) {
      reached_at = session_->current_event();
      break;
    }
    short_at = session_->current_event();
    // The focus's last event (its exit) cannot be replayed: the count may
    // still get there before it. (One step can replay more than one event:
    // code patched at a stop comes with it.)
    replay_events_to(short_at + 1);
    if (session_->current_event() <= short_at || !session_->focus_task()) break;
  }
  if (!restore(*from) || (short_at > session_->current_event() && !replay_events_to(short_at))) {
    return false;
  }
  int32_t runner = session_->next_event_tid();
  if (runner && session_->has_task(runner)) session_->set_focus(runner);
  if (session_->focus_can_run_to_ticks(ticks) && session_->run_focus_to_ticks(ticks)) return true;
  if (reached_at && restore(*from) && replay_events_to(reached_at)) return true;
  *error = "rrx: the process does not reach tick " + std::to_string(ticks);
  restore(*from);
  return false;
}

// ---- What gdb asks about the process ----

std::vector<uint8_t> ReplayTarget::auxv() { return process_auxv(*session_); }

std::string ReplayTarget::exe_path() { return process_exe_path(*session_); }

std::string ReplayTarget::exec_file() { return exe_path(); }

std::string ReplayTarget::libraries_svr4_xml() { return svr4_library_list(*session_); }

std::vector<uint8_t> ReplayTarget::siginfo(const ThreadId&) {
  std::vector<uint8_t> bytes;
  Task* task = session_->focus_task();
  siginfo_t info;
  if (task && task->get_siginfo(&info)) {
    bytes.assign(reinterpret_cast<uint8_t*>(&info), reinterpret_cast<uint8_t*>(&info) + sizeof info);
  }
  return bytes;
}

bool ReplayTarget::memory_region(uint64_t address, MemoryRegion* region) {
  return find_memory_region(*session_, address, region);
}

// ---- spinning off ----

bool ReplayTarget::spin_off(bool live, bool own_stdio, SpunOff* out, std::string* error) {
  end_diversion();
  return rrx::spin_off(*session_, live, own_stdio, out, error);
}

bool ReplayTarget::finish(std::string* error) {
  session_->check_tracer_cpuid();
  end_diversion();
  auto_checkpoints_.clear();
  user_checkpoints_.clear();
  if (Task* focus = session_->focus_task()) session_->breakpoints().uninstall(*focus);
  session_->set_watchpoints({});
  session_->set_focus(0);
  for (;;) {
    Result r = session_->step();
    if (r == Result::kEnd) return true;
    if (r == Result::kError) {
      *error = session_->error();
      return false;
    }
  }
}

// ---- monitor commands ----

bool ReplayTarget::monitor(const std::string& command, std::string* output) {
  session_->check_tracer_cpuid();
  std::istringstream in(command);
  std::string word, rest;
  in >> word;
  std::getline(in, rest);
  rest.erase(0, rest.find_first_not_of(' '));
  if (word == "when") {
    *output = "Current event: " + std::to_string(session_->current_event()) + "\n";
    return true;
  }
  if (word == "when-ticks") {
    Task* task = session_->focus_task();
    uint64_t ticks = task ? read_ticks(*task) : 0;
    *output = ticks ? "Current tick: " + std::to_string(ticks) + "\n"
                    : "Current tick: 0 (the program does not count soft ticks)\n";
    return true;
  }
  if (word == "elapsed-time") {
    char line[96];
    snprintf(line, sizeof line, "Elapsed time: %.6f s (at event %" PRIu64 ")\n",
             static_cast<double>(session_->current_event_micros()) / 1e6, session_->current_event());
    *output = line;
    return true;
  }
  if (word == "when-end") {
    if (!last_event_) last_event_ = last_trace_event(session_->trace().dir());
    *output = "Last event: " + std::to_string(last_event_) + "\n";
    return true;
  }
  if (word == "seek-ticks" || word == "restart") end_diversion();
  if (word == "seek-ticks") {
    char* end = nullptr;
    uint64_t ticks = strtoull(rest.c_str(), &end, 10);
    std::string error;
    if (rest.empty() || *end != '\0') {
      *output = "rrx: usage: seek-ticks N\n";
      return false;
    }
    if (!seek_ticks(ticks, &error)) {
      *output = (error.empty() ? "rrx: cannot get to tick " + rest : error) + "\n";
      return false;
    }
    *output = "Current tick: " + std::to_string(here().ticks) + " (event " +
              std::to_string(session_->current_event()) + ")\n";
    return true;
  }
  if (word == "spin-off") {
    if (!rest.empty() && rest != "--live") {
      *output = "rrx: usage: spin-off [--live]\n";
      return false;
    }
    SpunOff state;
    std::string error;
    // Our stdin and stdout may be the debugger's channel, stderr its
    // terminal or a pipe it waits on: the copy gets none of them.
    if (!spin_off(rest == "--live", false, &state, &error)) {
      *output = "rrx: cannot spin off here: " + error + "\n";
      return false;
    }
    *output = "Spun off process " + std::to_string(state.pid) + " (recorded pid " +
              std::to_string(state.recorded_pid) + ", event " + std::to_string(state.event) +
              "), stopped\n" + spin_off_json(state) + "\n";
    return true;
  }
  if (word == "help") {
    *output = kMonitorHelp;
    return true;
  }
  if (word == "when-tid") {
    *output = "Current tid: " + std::to_string(session_->focus()) + "\n";
    return true;
  }
  if (word == "checkpoint") {
    std::string error;
    auto cp = session_->checkpoint(&error);
    if (!cp) {
      *output = "rrx: cannot checkpoint here: " + error + "\n";
      return false;
    }
    int id = next_user_checkpoint_++;
    user_checkpoints_[id] = {cp, here()};
    *output = "Checkpoint " + std::to_string(id) + " at event " +
              std::to_string(session_->current_event()) + "\n";
    return true;
  }
  if (word == "info" && rest == "checkpoints") {
    if (user_checkpoints_.empty()) *output = "No checkpoints.\n";
    for (const auto& [id, cp] : user_checkpoints_) {
      *output += std::to_string(id) + "  event " + std::to_string(cp.state->seq) + "  pc " +
                 hex(cp.position.regs.rip) + "\n";
    }
    return true;
  }
  if (word == "delete" && rest.rfind("checkpoint", 0) == 0) {
    int id = atoi(rest.c_str() + strlen("checkpoint"));
    if (!user_checkpoints_.erase(id)) {
      *output = "rrx: no checkpoint " + std::to_string(id) + "\n";
      return false;
    }
    *output = "Deleted checkpoint " + std::to_string(id) + "\n";
    return true;
  }
  if (word == "restart") {
    int id = atoi(rest.c_str());
    auto it = user_checkpoints_.find(id);
    if (it == user_checkpoints_.end()) {
      *output = "rrx: no checkpoint " + std::to_string(id) + "\n";
      return false;
    }
    if (!restore(it->second)) {
      *output = "rrx: cannot restart from checkpoint " + std::to_string(id) + "\n";
      return false;
    }
    *output = "Restarted from checkpoint " + std::to_string(id) + " at event " +
              std::to_string(session_->current_event()) + "\n";
    return true;
  }
  *output = "rrx: unknown command '" + command + "' (`monitor help` lists them)\n";
  return false;
}

}  // namespace rrx
