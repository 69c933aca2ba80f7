#include "replay/replay_session.h"

#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/cpu_binding.h"
#include "core/exec_setup.h"
#include "core/hw_tick_check.h"
#include "core/hw_tick_source.h"
#include "core/preload_page.h"
#include "core/seccomp_filter.h"
#include "core/instruction.h"
#include "core/registers.h"
#include "core/clone_untraced.h"
#include "core/proc_maps.h"
#include "core/remote_syscall.h"
#include "core/signal_class.h"
#include "core/spawn.h"
#include "core/stack_fingerprint.h"
#include "core/stop.h"
#include "core/task.h"
#include "core/tick_counter.h"
#include "instrument/patch_file.h"
#include "preload/syscallbuf_abi.h"
#include "replay/recorded_memory.h"
#include "replay/session_checkpoint.h"
#include "syscalls/sigmask_args.h"
#include "syscalls/syscall_table.h"
#include "syscalls/written_data.h"
#include "trace/crc32.h"
#include "trace/file_util.h"

namespace rrx {

namespace {

// A thread recorded as killed inside a syscall (a sibling's exit_group)
// stopped at that syscall's end instead: the kill is on its way. Waits,
// without resuming it into code the recording never ran, until it reports
// its next state (the kill ends it from the stop). False if none comes.
bool kill_arrives(pid_t tid) {
  for (int i = 0; i < 200; ++i) {
    siginfo_t info = {};
    if (waitid(P_PID, tid, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) == 0 &&
        info.si_pid == tid) {
      return true;
    }
    usleep(10000);
  }
  return false;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

// The kernel's "restart this syscall" codes, not in userspace headers.
constexpr int64_t ERESTARTSYS_CODE = 512;
constexpr int64_t ERESTARTNOINTR_CODE = 513;
constexpr int64_t ERESTARTNOHAND_CODE = 514;
constexpr int64_t ERESTART_RESTARTBLOCK_CODE = 516;

// -EINTR or one of the kernel's -ERESTART* codes (512..516).
bool is_interrupted(uint64_t rax) {
  int64_t r = static_cast<int64_t>(rax);
  return r == -EINTR || (r <= -512 && r >= -516);
}

bool same_exit(int a, int b) {
  if (WIFEXITED(a) && WIFEXITED(b)) return WEXITSTATUS(a) == WEXITSTATUS(b);
  if (WIFSIGNALED(a) && WIFSIGNALED(b)) return WTERMSIG(a) == WTERMSIG(b);
  return false;
}

uint64_t clone_child_tid_addr(const ReplayTask& parent) {
  if (parent.call.number == SYS_clone) return parent.call.args[3];
  if (parent.call.number == SYS_clone3) {
    uint64_t addr = 0;  // struct clone_args: flags, pidfd, child_tid, ...
    parent.task->read_mem(parent.call.args[0] + 16, &addr, sizeof addr);
    return addr;
  }
  return 0;
}

}  // namespace

std::unique_ptr<ReplaySession> ReplaySession::start(const std::string& trace_dir,
                                                    std::string* error) {
  auto reader = TraceReader::open(trace_dir, error);
  if (!reader) return nullptr;
  std::unique_ptr<ReplaySession> session(new ReplaySession(std::move(reader)));
  if (!session->spawn_root()) {
    *error = session->error_;
    return nullptr;
  }
  return session;
}

ReplaySession::ReplaySession(std::unique_ptr<TraceReader> reader) : reader_(std::move(reader)) {}

ReplaySession::~ReplaySession() {
  kill_all();
  // Replayed processes whose parents never reaped them (wait4 is emulated)
  // were reparented to us as their subreaper.
  while (waitpid(-1, nullptr, __WALL | WNOHANG) > 0) {
  }
}

void ReplaySession::kill_all() {
  std::vector<pid_t> tids;
  for (auto& [tid, t] : tasks_) tids.push_back(t->task->tid());
  kill_tracees(tids);
  tasks_.clear();
}

bool ReplaySession::spawn_root() {
  const TraceHeader& header = reader_->header();
  if (header.ticks == "soft" && header.version < 3) {
    error_ = reader_->dir() + " counted soft ticks with the counter of trace version " +
             std::to_string(header.version) + ", which this rrx no longer provides; record it again";
    return false;
  }
  if (header.syscall_buffer && header.version < 6) {
    error_ = reader_->dir() + " buffered syscalls with the preload library of trace version " +
             std::to_string(header.version) + ", which this rrx no longer provides; record it again";
    return false;
  }
  if (!is_hw_tick_source(header.ticks) && header.ticks != "soft" && header.ticks != "static" &&
      header.ticks != "none") {
    error_ = reader_->dir() + " was recorded with tick source '" + header.ticks +
             "', which this rrx cannot provide";
    return false;
  }
  if (!use_replay_tick_counters(header.ticks, header.tick_microarch, &tick_counters_, &error_)) {
    error_ = reader_->dir() + " " + error_;
    return false;
  }
  if (header.cpuid_faulting && !cpuid_faulting_available()) {
    error_ = reader_->dir() + " was recorded with cpuid faulting, which this machine lacks";
    return false;
  }
  if (!header.cpuid_faulting && header.cpu_signature != cpu_signature()) {
    error_ = reader_->dir() + " was recorded on another CPU (" + header.cpu_signature +
             ") where cpuid could not be trapped; it replays only on that CPU";
    return false;
  }
  if (bind_to_cpu(header.bound_cpu) < 0 && !header.cpuid_faulting) {
    error_ = "cannot run on CPU " + std::to_string(header.bound_cpu) + ", where " +
             reader_->dir() + " was recorded without cpuid faulting";
    return false;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  SpawnOptions spawn;
  spawn.path = reader_->saved_file_path(header.exe_saved_name, &error_);
  if (spawn.path.empty()) return false;
  spawn.argv = header.argv;
  fds_.start(header.root_tid, header.cwd);
  spawn.rlimit_cur = header.rlimit_cur;
  spawn.rlimit_max = header.rlimit_max;
  spawn.ignored_signals = header.ignored_signals;
  // The preload library runs some syscalls itself in replay too (those
  // that shape the address space): the filter lets them run unseen.
  spawn.syscall_filter = header.syscall_buffer;
  filtered_ = header.syscall_buffer;
  // Copies of instructions run from the preload page's spare bytes; a
  // hardware tick counter would count their jump back.
  displaced_ = DisplacedSteps(filtered_ && tick_counters_.kind == TickCounterKind::kNone);
  pid_t pid = spawn_traced(spawn, &error_);
  if (pid < 0) return false;
  // (After the spawn: the child runs up to its exec without it.)
  if (header.cpuid_faulting) tracer_cpuid_ = std::make_unique<TracerCpuidFaulting>(true);
  auto root = std::make_unique<ReplayTask>();
  root->task = std::make_unique<Task>(pid, &tick_counters_);
  root->task->cache_registers();  // replay writes them only through the Task
  root->tid = header.root_tid;
  root->stopped = false;  // running towards its exec event
  root->tgid = header.root_tid;
  tasks_[header.root_tid] = std::move(root);
  return true;
}

std::string ReplaySession::saved_file_path(const std::string& name) {
  std::string error;
  return reader_->saved_file_path(name, &error);
}

bool ReplaySession::next_event(Event* event) {
  if (!lookahead_.empty()) {
    *event = std::move(lookahead_.front());
    lookahead_.pop_front();
    return true;
  }
  return reader_->next(event, &error_);
}

int32_t ReplaySession::next_event_tid() {
  if (lookahead_.empty()) {
    Event e;
    if (!reader_->next(&e, &error_)) return 0;
    lookahead_.push_back(std::move(e));
  }
  return lookahead_.front().tid;
}

const Event* ReplaySession::peek_for_tid(int32_t tid, int skip) {
  for (const Event& e : lookahead_) {
    if (e.tid == tid && skip-- == 0) return &e;
  }
  for (;;) {
    Event e;
    if (!reader_->next(&e, &error_)) return nullptr;
    lookahead_.push_back(std::move(e));
    if (lookahead_.back().tid == tid && skip-- == 0) return &lookahead_.back();
  }
}

std::string ReplaySession::early_end() const {
  std::string at = " at event " + std::to_string(seq_);
  if (reader_->cut_short())
    return reader_->dir() + " was cut short" + at +
           ": the recording did not finish (rrx record was killed)";
  if (int sig = reader_->summary().ended_by_signal) {
    const char* name = sigabbrev_np(sig);
    return "the recording of " + reader_->dir() + " was ended by " +
           (name ? "SIG" + std::string(name) : "signal " + std::to_string(sig)) + at;
  }
  return "";
}

ReplaySession::StepResult ReplaySession::diverged(const Event& event, const std::string& what) {
  error_ = "replay diverged at event " + std::to_string(event.seq) + " (" +
           event_kind_name(event.kind) + " of thread " + std::to_string(event.tid) +
           "): " + what;
  return StepResult::kError;
}

// The focus thread stopped for the debugger before reaching `event`: keep
// the event for later.
ReplaySession::StepResult ReplaySession::trapped(Event& event) {
  lookahead_.push_front(std::move(event));
  return StepResult::kTrap;
}

// ---- Running threads ----

// Lets a thread stopped outside any syscall run on. Under the syscall
// filter only the syscalls the recording traced stop (a seccomp stop where
// the entry stop would be); the preload library's own run unseen, as they
// did when recorded. Without it every syscall stops at its entry.
bool ReplaySession::run_user_code(Task& task, int sig) {
  return filtered_ ? task.cont(sig) : task.resume(sig);
}

// Resumes a stopped thread the way its state asks: delivering a pending
// signal, single-stepping the focus, stepping the focus off a breakpoint
// it sits on before letting it run.
bool ReplaySession::resume(ReplayTask& t) {
  // Inside a syscall (entry, exec, fork, vfork-done or exit stops) the
  // thread must go on to the syscall's end (PTRACE_SYSCALL): single-stepping
  // or continuing there would run it unseen.
  bool in_syscall = t.stop_kind == StopKind::kSyscallEntry || t.stop_kind == StopKind::kExec ||
                    t.stop_kind == StopKind::kNewTask || t.stop_kind == StopKind::kVforkDone ||
                    t.stop_kind == StopKind::kExiting;
  bool ok;
  if (in_syscall) {
    ok = t.task->resume(t.resume_sig);
  } else if (is_debugged(t)) {
    Registers regs;
    t.task->get_regs(&regs);
    if (breakpoints_.contains(regs.rip) && !t.stepping_over && !t.single_step && !t.resume_sig) {
      // Run a copy of the instruction out of line, which jumps back after
      // it: the int3 stays, and no stop is spent on the step. (Not with a
      // signal to deliver: its frame would hold the copy's address.)
      t.displaced = displaced_.prepare(*t.task, t.tgid, regs.rip, breakpoints_);
      if (t.displaced.copy) {
        regs.rip = t.displaced.copy;
        if (!t.task->set_regs(regs)) t.displaced = {};
      }
    }
    if (breakpoints_.contains(regs.rip) && !t.stepping_over) {
      // Run the original instruction once, then put the int3 back.
      breakpoints_.uninstall_one(*t.task, regs.rip);
      t.stepping_over = regs.rip;
    }
    if (t.single_step || t.stepping_over) {
      // The preload page's `syscall` runs unseen: it steps like any other.
      bool syscall_insn = t.task->at_syscall_insn(regs.rip) &&
                          !(filtered_ && regs.rip + 2 == RRX_UNTRACED_SYSCALL_IP);
      // A traced `syscall` cannot be single-stepped (it would run with no
      // syscall stop); the step then ends at its exit event.
      ok = syscall_insn ? run_user_code(*t.task, t.resume_sig) : t.task->single_step(t.resume_sig);
      if (syscall_insn && t.single_step) t.step_via_syscall = true;
    } else {
      ok = run_user_code(*t.task, t.resume_sig);
    }
    t.at_event = false;
  } else {
    ok = run_user_code(*t.task, t.resume_sig);
  }
  t.resume_sig = 0;
  t.stopped = !ok ? t.stopped : false;
  if (!ok && t.displaced.copy) {
    DisplacedSteps::settle(*t.task, t.displaced);
    t.displaced = {};
  }
  return ok;
}

// A watchpoint fired inside the buffering engine: one of its stores of a
// recorded output (byte by byte) hit the watched bytes. The kernel's
// writes of a traced syscall show once, where the syscall ends; so do the
// engine's: the thread runs on, further hits absorbed, to the engine's
// way out (RRX_SITE_LEAVE_ADDR), then steps through the return to the
// site's stub, where the thread stands for the end of the program's
// syscall. False (the thread somewhere on the way) if that fails.
bool ReplaySession::finish_engine_call(ReplayTask& t) {
  Task& task = *t.task;
  const uint8_t int3 = 0xcc;
  uint8_t original;
  if (!task.read_mem(RRX_SITE_LEAVE_ADDR, &original, 1) ||
      !task.write_mem(RRX_SITE_LEAVE_ADDR, &int3, 1)) {
    return false;
  }
  Registers regs;
  bool at_leave = false;
  while (!at_leave && run_to_trap(task, false, &regs)) {
    at_leave = regs.rip == RRX_SITE_LEAVE_ADDR + 1;
    triggered_watchpoint(task);  // (clears DR6 after another of its stores)
  }
  task.write_mem(RRX_SITE_LEAVE_ADDR, &original, 1);
  if (!at_leave) return false;
  regs.rip = RRX_SITE_LEAVE_ADDR;
  if (!task.set_regs(regs)) return false;
  // The way out restores the program's registers and returns to the stub
  // (~30 instructions), whose `lea 128(%rsp),%rsp` then puts the program's
  // stack pointer back (a backtrace holds from there). No further: the
  // next instructions may count a tick, which the caller's run to a tick
  // count must see.
  for (int steps = 0; steps < 64 && rrx_in_engine_code(regs.rip); ++steps) {
    if (!run_to_trap(task, true, &regs)) return false;
  }
  if (rrx_in_engine_code(regs.rip) || !run_to_trap(task, true, &regs)) return false;
  triggered_watchpoint(task);  // (the epilogue's reads of the saved registers)
  return true;
}

// The watchdog stopped `t` (run_watchdog.h): whether to stop there for the
// user's Ctrl-C. Only a debugged thread in its own code (not inside a
// syscall, whose restart the stop would disturb; not stepping off a
// breakpoint), moved off any instrumentation first, so the debugger sees
// a program instruction.
bool ReplaySession::interrupted_in_user_code(ReplayTask& t) {
  Registers regs;
  if (!interrupt_check_ || !is_debugged(t) || t.stepping_over || !t.task->get_regs(&regs) ||
      regs.orig_rax != static_cast<uint64_t>(-1) || !interrupt_check_()) {
    return false;
  }
  return leave_instrumentation(t);
}

// Steps `t` (stopped somewhere in user code) out of the buffering engine
// and tick or syscall stub glue, to a program instruction.
bool ReplaySession::leave_instrumentation(ReplayTask& t) {
  Registers regs;
  if (!t.task->get_regs(&regs)) return false;
  if (rrx_in_engine_code(regs.rip)) {
    if (!finish_engine_call(t) || !t.task->get_regs(&regs)) return false;
  }
  for (int steps = 0; t.patches && t.patches->to_original(regs.rip).in_glue; ++steps) {
    if (steps == 64 || !run_to_trap(*t.task, true, &regs)) return false;
    take_tick_trap(*t.task);  // (if a count reached its target on the way)
  }
  return true;
}

// Resumes `task` (a single step, or running) to its next SIGTRAP stop, a
// watchpoint, breakpoint or step; a watchdog poke met on the way is let go.
// False at any other stop.
bool ReplaySession::run_to_trap(Task& task, bool step, Registers* regs) {
  for (;;) {
    int status;
    if (!(step ? task.single_step(0) : run_user_code(task, 0)) ||
        wait_for(task.tid(), &status) != task.tid() || !WIFSTOPPED(status)) {
      return false;
    }
    if (WSTOPSIG(status) == SIGSTOP && (status >> 16) == 0 && watchdog_.take_poke()) continue;
    return WSTOPSIG(status) == SIGTRAP && task.get_regs(regs);
  }
}

void ReplaySession::settle_displaced(ReplayTask& t, const Stop& stop) {
  if (!t.displaced.copy) return;
  if (stop.kind != StopKind::kExited) DisplacedSteps::settle(*t.task, t.displaced);
  t.displaced = {};
}

// At a SIGTRAP of the focus thread: our breakpoint, our single step or our
// watchpoint? Sets trap_ and returns true if so.
bool ReplaySession::classify_trap(ReplayTask& t) {
  siginfo_t info;
  if (!t.task->get_siginfo(&info)) return false;
  Registers regs;
  t.task->get_regs(&regs);
  if (info.si_code == TRAP_HWBKPT || info.si_code == TRAP_TRACE) {
    // A single step that also fires a watchpoint reports TRAP_TRACE (the
    // kernel prefers DR6's step bit): ask DR6 itself.
    int index = triggered_watchpoint(*t.task, info, watchpoints_.size());
    if (index >= 0) {
      if (reader_->header().syscall_buffer && rrx_in_engine_code(regs.rip)) {
        finish_engine_call(t);  // (if it cannot, the hit shows where it is)
      }
      trap_ = {Trap::Kind::kWatchpoint, index};
      t.single_step = false;
      return true;
    }
  }
  if (info.si_code == SI_KERNEL && breakpoints_.contains(regs.rip - 1)) {
    regs.rip -= 1;  // report the pc at the breakpoint
    t.task->set_regs(regs);
    trap_ = {Trap::Kind::kBreakpoint, -1};
    t.single_step = false;
    return true;
  }
  if (info.si_code == TRAP_TRACE || info.si_code == TRAP_HWBKPT) {
    if (t.single_step) {
      trap_ = {Trap::Kind::kStep, -1};
      t.single_step = false;
      return true;
    }
  }
  return false;
}

// A fork the replay runs again can meet a signal the real kernel sent
// during replay (SIGCHLD of a replayed child), which was not there when
// recording: the kernel then aborts the fork with -ERESTARTNOINTR, we drop
// the signal, and the kernel restarts the fork. Those stops are passed over.
namespace {
bool restarts_fork(ReplayTask& t, const Stop& stop) {
  if (stop.kind == StopKind::kSyscallEntry) return true;  // the restart
  if (stop.kind != StopKind::kSyscallExit) return false;
  Registers regs;
  t.task->get_regs(&regs);
  return static_cast<int64_t>(regs.rax) == -ERESTARTNOINTR_CODE;
}
}  // namespace

// A thread killed (by exit_group, a fatal signal or another thread's exec)
// just after a syscall ended when recorded may be killed before that end in
// replay, where the syscall took no time. That is faithful when the
// recording ends the thread right after the syscall.
bool ReplaySession::killed_by_program_filter(int32_t tid) {
  const Event* exit = peek_for_tid(tid);
  const Event* end = exit && exit->kind == EventKind::kSyscallExit ? peek_for_tid(tid, 1) : nullptr;
  return end && end->kind == EventKind::kExit && WIFSIGNALED(end->exit_status) &&
         WTERMSIG(end->exit_status) == SIGSYS;
}

bool ReplaySession::killed_at_entry(int32_t tid) {
  const Event* next = peek_for_tid(tid);
  return next && next->kind == EventKind::kExit && WIFSIGNALED(next->exit_status) &&
         WTERMSIG(next->exit_status) == SIGKILL;
}

bool ReplaySession::killed_after_syscall(ReplayTask& t) {
  const Event* next = peek_for_tid(t.tid);
  return next && next->kind == EventKind::kExit;
}

// Resumes `t` if needed and waits until it reaches a stop of kind
// `want_kind` (for signals: of signal `want_sig`). Stops a faithful replay
// may see on the way are passed over: job-control stops, the exit
// notification before the exit itself, and signals the real kernel sends
// during replay (e.g. SIGCHLD for a replayed child), which are dropped —
// recorded signals are injected at their recorded points. The focus thread
// may stop for the debugger instead (kTrapped).
ReplaySession::Advance ReplaySession::advance(ReplayTask& t, StopKind want, int want_sig,
                                              Stop* out, std::string* what) {
  for (;;) {
    // A thread whose process another thread ended (exit_group) may be gone
    // from its stop already: then only its exit remains to be collected.
    if (t.stopped && !resume(t) && want != StopKind::kExited) {
      *what = "cannot resume the thread";
      return Advance::kFailed;
    }
    int status;
    watchdog_.waiting(t.task->tid());
    int waited = wait_for(t.task->tid(), &status);
    watchdog_.waiting(0);
    if (waited < 0) {
      *what = "the thread vanished";
      return Advance::kFailed;
    }
    Stop stop = decode_stop(t.task->tid(), status);
    t.stopped = stop.kind != StopKind::kExited;
    t.stop_kind = stop.kind;
    if (stop.kind == StopKind::kExiting) release_robust_futexes(t);
    settle_displaced(t, stop);
    if (stop.kind == StopKind::kSignal && stop.sig == SIGSTOP && watchdog_.take_poke()) {
      if (interrupted_in_user_code(t)) {
        trap_ = {Trap::Kind::kInterrupt, -1};
        focus_ = t.tid;
        return Advance::kTrapped;
      }
      continue;  // suppressed: the resume above passes no signal
    }
    bool stepped_over = false;
    if (t.stepping_over) {
      breakpoints_.install_one(*t.task, t.stepping_over);
      t.stepping_over = 0;
      stepped_over = true;
    }
    if (stop.kind == StopKind::kSignal && stop.sig == SIGTRAP && is_debugged(t)) {
      if (step_continues_in_stub(t) && !watchpoint_fired(*t.task)) continue;
      if (classify_trap(t)) {
        focus_ = t.tid;  // the debugger now looks at the thread that stopped
        return Advance::kTrapped;
      }
      siginfo_t info;
      if (stepped_over && t.task->get_siginfo(&info) && info.si_code == TRAP_TRACE) {
        // Stepped off one breakpoint onto another: that one is hit now,
        // though its int3 never ran.
        Registers regs;
        t.task->get_regs(&regs);
        if (breakpoints_.contains(regs.rip)) {
          trap_ = {Trap::Kind::kBreakpoint, -1};
          focus_ = t.tid;
          return Advance::kTrapped;
        }
        continue;
      }
    }
    bool wanted = stop.kind == want && (want != StopKind::kSignal || stop.sig == want_sig);
    if (want == StopKind::kNewTask && restarts_fork(t, stop)) continue;
    if (wanted) {
      *out = stop;
      return Advance::kOk;
    }
    switch (stop.kind) {
      case StopKind::kGroupStop:
      case StopKind::kVforkDone:
        continue;
      case StopKind::kExiting:
        if (want == StopKind::kExited) continue;
        if (want == StopKind::kSyscallExit && killed_after_syscall(t)) {
          *out = stop;
          return Advance::kOk;
        }
        break;
      case StopKind::kSyscallExit:
        if (want == StopKind::kExited && kill_arrives(t.task->tid())) {
          t.stopped = false;  // SIGKILL ends it from the stop: just wait
          continue;
        }
        break;
      case StopKind::kSignal: {
        siginfo_t info;
        if (t.task->get_siginfo(&info) && !is_synchronous_signal(info)) continue;
        break;
      }
      default:
        break;
    }
    *what = "expected " + describe_stop(Stop{want, want_sig}) + ", got " + describe_stop(stop);
    return Advance::kFailed;
  }
}

// ---- Events ----

// Waits for the stop that event `e` of `t` is about; kEvent once there,
// else what step() must return (the focus trapped, or replay failed).
ReplaySession::StepResult ReplaySession::reach(ReplayTask& t, Event& e, StopKind kind, int sig) {
  if (kind == StopKind::kSyscallExit && t.at_exit_early) {
    t.at_exit_early = false;
    return StepResult::kEvent;
  }
  Stop stop;
  std::string what;
  switch (advance(t, kind, sig, &stop, &what)) {
    case Advance::kTrapped: return trapped(e);
    case Advance::kFailed: return diverged(e, what);
    case Advance::kOk: break;
  }
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::step() {
  Event e;
  if (!next_event(&e)) {
    if (!error_.empty()) return StepResult::kError;
    bool left_running = !reader_->summary().left_running.empty();
    if (!tasks_.empty() && !focus_ && early_end().empty() && !left_running) {
      error_ = "the trace ended while " + std::to_string(tasks_.size()) +
               " recorded thread(s) were still running";
      return StepResult::kError;
    }
    return StepResult::kEnd;
  }
  auto it = tasks_.find(e.tid);
  if (it == tasks_.end()) return diverged(e, "no such thread in the replay");
  ReplayTask& t = *it->second;
  bool debugged = is_debugged(t);
  if (debugged && e.kind == EventKind::kExit && (process_ending_ || !other_threads_alive(t))) {
    // Keep the end of the focus thread's life in view: a debugger can go
    // backwards from here.
    lookahead_.push_front(std::move(e));
    return StepResult::kFocusEnd;
  }
  StepResult result = replay_event(t, e);
  if (result == StepResult::kEvent && e.ticks_at_event) result = check_ticks_at_event(t, e);
  if (result != StepResult::kEvent) return result;
  track_fds(e);
  seq_ = e.seq;
  seq_tid_ = e.tid;
  last_event_ = {e.seq, e.kind, e.tid, e.syscall_no, e.signo};
  micros_ = e.micros;
  // Code patched at this stop is patched before anyone looks at it (a
  // debugger's first breakpoints go into the patched code).
  for (Event next; e.kind != EventKind::kInstrument && next_event(&next);) {
    if (next.kind != EventKind::kInstrument || next.tid != e.tid) {
      lookahead_.push_front(std::move(next));
      break;
    }
    if ((result = replay_instrument(t, next)) != StepResult::kEvent) return result;
    seq_ = next.seq;
  }
  if (e.kind == EventKind::kBufferFlush || e.kind == EventKind::kInstrument ||
      e.kind == EventKind::kTracerChange) {
    return result;  // the thread did not move
  }
  if (e.kind == EventKind::kExit && e.tid == focus_) {
    // The debugger's thread ended; look at another thread of its process.
    for (int32_t tid : tids()) {
      if (tasks_[tid]->tgid == focus_tgid_) focus_ = tid;
    }
  }
  if (debugged && e.kind != EventKind::kExit) {
    t.last_seq = e.seq;
    t.at_event = true;
    if (step_ended_ || watch_hit_) {
      step_ended_ = watch_hit_ = false;
      return StepResult::kTrap;
    }
  }
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::replay_event(ReplayTask& t, Event& e) {
  switch (e.kind) {
    case EventKind::kSyscallEntry: return replay_syscall_entry(t, e);
    case EventKind::kSyscallExit: return replay_syscall_exit(t, e);
    case EventKind::kExec: return replay_exec(t, e);
    case EventKind::kNewTask: return replay_new_task(t, e);
    case EventKind::kSignal: return replay_signal(t, e);
    case EventKind::kInstruction: return replay_instruction(t, e);
    case EventKind::kExit: return replay_exit(t, e);
    case EventKind::kSchedule: return replay_schedule(t, e);
    case EventKind::kBufferFlush: return replay_buffer_flush(t, e);
    case EventKind::kInstrument: return replay_instrument(t, e);
    case EventKind::kTracerChange: return replay_tracer_change(t, e);
  }
  return diverged(e, "unknown event kind");
}

ReplaySession::StepResult ReplaySession::replay_syscall_entry(ReplayTask& t, Event& e) {
  if (StepResult r = reach(t, e, StopKind::kSyscallEntry); r != StepResult::kEvent) return r;
  Registers regs;
  t.task->get_regs(&regs);
  if (regs.orig_rax == RRX_CALL_MISMATCH && e.syscall_no != RRX_CALL_MISMATCH) {
    return diverged(e, "the program made " + syscall_name(static_cast<int>(regs.rsi)) +
                           " where the recording buffered " +
                           syscall_name(static_cast<int>(regs.rdi)) + " (or other arguments)");
  }
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) {
    return diverged(e, "at " + syscall_name(static_cast<int>(regs.orig_rax)) + " entry, " + diff);
  }
  t.desc = syscall_lookup(e.syscall_no);
  if (!t.desc) return diverged(e, "unknown syscall " + std::to_string(e.syscall_no));
  t.call = SyscallCall{};
  t.call.number = e.syscall_no;
  uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  memcpy(t.call.args, args, sizeof args);

  if (t.desc->replay == ReplayAction::kFork && !strip_clone_untraced(*t.task, t.call)) {
    return diverged(e, "cannot clear CLONE_UNTRACED");
  }
  switch (t.desc->replay) {
    case ReplayAction::kExecute:
    case ReplayAction::kFork: {
      // A call that failed when recorded (e.g. a fork interrupted by a
      // signal, to be restarted) had no effect then: emulate it. Except
      // mprotect and madvise, which may fail part way through their range
      // (a hole: ENOMEM; a locked page for MADV_DONTNEED: EINVAL) with the
      // pages before changed: they run again, to fail the same way.
      const Event* next = peek_for_tid(e.tid);
      bool failed = next && next->kind == EventKind::kSyscallExit && is_syscall_error(next->regs.rax);
      bool partial = failed && (e.syscall_no == SYS_mprotect || e.syscall_no == SYS_madvise);
      t.emulated = t.desc->record == RecordPolicy::kDenyENOSYS || (failed && !partial);
      break;
    }
    case ReplayAction::kExit:
    case ReplayAction::kSigreturn:
      t.emulated = false;
      break;
    case ReplayAction::kExecve: {
      // Exec the trace's copy of what was loaded, if the exec succeeded.
      const Event* next = peek_for_tid(e.tid);
      t.emulated = !next || next->kind != EventKind::kExec;
      if (!t.emulated) {
        std::string path = reader_->saved_file_path(next->exe_saved_name, &error_);
        if (path.empty()) return StepResult::kError;
        StackScratch scratch(*t.task);
        uint64_t addr = scratch.push(path);
        regs.rdi = addr;
        if (e.syscall_no == SYS_execveat) {
          regs.rdi = static_cast<uint64_t>(AT_FDCWD);
          regs.rsi = addr;
        }
        t.task->set_regs(regs);
        scratch.keep();  // the exec must read the path; the old stack goes
      }
      break;
    }
    case ReplayAction::kShmat: {
      // Replay's own segment, where the recorded one was attached.
      const Event* exit = peek_for_tid(e.tid);
      t.emulated = !exit || exit->kind != EventKind::kSyscallExit || is_syscall_error(exit->regs.rax);
      if (!t.emulated) {
        std::string err;
        int id = segments_.segment_for(static_cast<int>(t.call.args[0]), *exit, &err);
        if (id < 0) return diverged(e, err);
        regs.rdi = static_cast<uint64_t>(id);
        regs.rsi = exit->regs.rax;
        regs.rdx = (t.call.args[2] & ~uint64_t{SHM_RND}) | SHM_REMAP;
        t.task->set_regs(regs);  // (the recorded exit registers put them back)
      }
      break;
    }
    default:
      t.emulated = true;
      break;
  }
  if (t.emulated && self_filtered_.count(t.tgid) && killed_by_program_filter(e.tid)) {
    // Run it again for the program's filter to kill the process, as when
    // recording (without syscall buffering the filter ran after the entry
    // stop; with it, there was no stop).
    t.emulated = false;
  }
  if (installs_program_filter(t.call)) {
    // Installed for real, as when recording (unless it failed then).
    const Event* next = peek_for_tid(e.tid);
    t.emulated = next && next->kind == EventKind::kSyscallExit && is_syscall_error(next->regs.rax);
    if (!t.emulated) {
      std::string err;
      uint64_t filter = write_prefixed_program_filter(*t.task, t.call, &err);
      if (!filter) return diverged(e, err.empty() ? "cannot read the program's seccomp filter" : err);
      self_filtered_.insert(t.tgid);
      // rrx's injected calls go through it too (with TSYNC, every
      // thread's): back to the gadget its prefix lets by.
      for (auto& [tid, other] : tasks_) {
        if (other->tgid == t.tgid) other->task->untraced_syscall = 0;
      }
      regs.rdx = filter;  // (the recorded exit registers put it back)
      t.task->set_regs(regs);
    }
  }
  if (t.emulated) {
    regs.orig_rax = static_cast<uint64_t>(-1);  // the kernel skips it
    t.task->set_regs(regs);
  } else if (t.desc->replay == ReplayAction::kExecve && other_threads_alive(t)) {
    t.exec_held = true;
  } else if (t.desc->replay == ReplayAction::kExit && ends_debugged_process(t, e)) {
    process_ending_ = true;
    focus_ = e.tid;
  } else if (const Event* next = peek_for_tid(e.tid); next && next->kind == EventKind::kTracerChange) {
    // Its emulated tracer changes it at this stop first (a PTRACE_INTERRUPT
    // stop at a syscall entry): the exit event resumes it.
  } else if (t.desc->replay == ReplayAction::kExit && killed_at_entry(e.tid)) {
    // A SIGKILL ended it while the recorder held it at this entry (the
    // exit would not have been its own): its exit event kills it here.
  } else if (e.syscall_no == SYS_exit_group && other_threads_alive(t)) {
    t.group_exit_held = true;
  } else {
    // Let the kernel run it now: others may wait on it (a vfork parent
    // resumes only once its child's execve is under way). The debugged
    // process about to end stays here, at the end of its history.
    if (!resume(t)) return diverged(e, "cannot resume the thread");
    bool ends_process = e.syscall_no == SYS_exit_group ||
                        (e.syscall_no == SYS_exit && !other_threads_alive(t));
    if (ends_process) {
      // A vfork parent goes on only once its child has let go of their
      // memory, after the child's exit stop: take the child past it now
      // (its end is collected at its exit event).
      std::string what;
      if (!past_exit_stop(t, &what)) return diverged(e, what);
    } else if (e.syscall_no == SYS_exit && other_threads_alive(t)) {
      // A thread's exit clears its tid in memory and wakes pthread_join;
      // later events of its siblings read that, so let it finish first.
      // (The leader's end is reported after theirs: it only gets that far.)
      bool leader = t.tid == t.tgid;
      Stop stop;
      std::string what;
      if (advance(t, leader ? StopKind::kExiting : StopKind::kExited, 0, &stop, &what) !=
          Advance::kOk) {
        return diverged(e, what);
      }
      if (leader) {
        if (!resume(t)) return diverged(e, "cannot resume the exiting thread");
        t.stopped = false;
        wait_until_zombie(t.tid);
      } else {
        t.exit_status = stop.status;
      }
    }
  }
  return StepResult::kEvent;
}

bool ReplaySession::other_threads_alive(const ReplayTask& t) const {
  for (const auto& [tid, other] : tasks_) {
    if (other.get() != &t && other->tgid == t.tgid) return true;
  }
  return false;
}

ReplaySession::StepResult ReplaySession::replay_syscall_exit(ReplayTask& t, Event& e) {
  if (StepResult r = reach(t, e, StopKind::kSyscallExit); r != StepResult::kEvent) return r;
  // The kill overtook the syscall's end (see killed_after_syscall): what
  // the syscall left behind dies with the thread.
  if (t.stop_kind == StopKind::kExiting) return StepResult::kEvent;
  if (t.exec_exit_pending) {
    t.exec_exit_pending = false;
    std::string err;
    ExecSetup setup;
    setup.cpuid_faulting = reader_->header().cpuid_faulting;
    setup.soft_ticks = reader_->header().ticks != "none" && reader_->header().ticks != "hw";
    setup.preload_mode = reader_->header().syscall_buffer ? RRX_MODE_REPLAY : RRX_MODE_OFF;
    segv_dispositions_.at_exec(t.tgid, t.tid, *t.task);
    if (!setup_at_exec_exit(*t.task, setup, &err)) {
      return diverged(e, err);
    }
    if (self_filtered_.count(t.tgid)) t.task->untraced_syscall = 0;  // the filter stays
  } else if (t.desc) {
    if (t.call.number == SYS_munmap && !is_syscall_error(e.regs.rax) && t.patches) {
      // The debugger's view of patched code there goes with it.
      auto patches = std::make_shared<instrument::PatchSet>(*t.patches);
      patches->erase(t.call.args[0], t.call.args[0] + t.call.args[1]);
      for (auto& [tid, other] : tasks_) {
        if (other->tgid == t.tgid) other->patches = patches;
      }
    }
    ReplayAction action = t.desc->replay;
    if (t.emulated && is_interrupted(e.regs.rax)) {
      if (!deliver_under_temporary_mask(t, e)) return StepResult::kError;
    } else if (action == ReplayAction::kMmap || action == ReplayAction::kMremap) {
      if (!is_syscall_error(e.regs.rax)) {
        if (!remap(t, e)) return StepResult::kError;
        uint64_t len = action == ReplayAction::kMmap ? t.call.args[1] : t.call.args[2];
        if (is_debugged(t)) breakpoints_.refresh(*t.task, e.regs.rax, e.regs.rax + len);
        displaced_.forget(t.tgid, e.regs.rax, e.regs.rax + len);
      }
    } else if (action == ReplayAction::kSigreturn) {
      Registers regs;
      t.task->get_regs(&regs);
      std::string diff = diff_registers(e.regs, regs);
      if (!diff.empty()) return diverged(e, "after rt_sigreturn, " + diff);
    }
    if (!is_syscall_error(e.regs.rax)) set_own_rlimit(t);
    segv_dispositions_.at_syscall_exit(t.tgid, t.tid, t.call, static_cast<int64_t>(e.regs.rax),
                                       *t.task);
  }
  bool focus = is_debugged(t);
  std::vector<std::string> watched_before;
  if (focus) watched_before = read_watched(t);
  // (A shmat's are the segment's contents, in replay's segment already.)
  for (const MemWrite& w : t.desc && t.desc->replay == ReplayAction::kShmat ? std::vector<MemWrite>{} : e.writes) {
    if (!write_recorded_memory(*t.task, w) &&
        !(back_pages_past_file_end(t, w.addr, w.data.size()) && write_recorded_memory(*t.task, w))) {
      return diverged(e, "cannot write recorded syscall output to memory");
    }
  }
  if (e.shrunk_file.addr && !shrink_mapped_file(*t.task, e.shrunk_file)) {
    return diverged(e, "cannot shrink the file mapped at " + std::to_string(e.shrunk_file.addr));
  }
  if (e.echo_fd != 0) {
    // The trace says what to show; the program must have written exactly
    // that, and only to our stdout or stderr.
    if (e.echo_fd != 1 && e.echo_fd != 2) {
      return diverged(e, "the trace echoes output to fd " + std::to_string(e.echo_fd) +
                             ", not stdout or stderr");
    }
    std::string written;
    if (!t.desc || !read_written_data(*t.task, *t.desc, t.call, e.echo_data.size(), &written) ||
        written != e.echo_data) {
      return diverged(e, "the program wrote other bytes than the recording shows");
    }
  }
  // A syscall's end leaves the thread where its entry was (rt_sigreturn is
  // checked above, execve ran for real): the recorded registers may only
  // set its results, never send the thread elsewhere.
  Registers now;
  if (!t.task->get_regs(&now)) return diverged(e, "cannot read the registers at the syscall's end");
  if (now.rip != e.regs.rip || now.rsp != e.regs.rsp || now.cs != e.regs.cs || now.ss != e.regs.ss) {
    return diverged(e, "at the syscall's end, " + diff_registers(e.regs, now));
  }
  t.task->set_regs(e.regs);
  if (t.desc && t.call.number == SYS_arch_prctl && t.call.args[0] == ARCH_SET_FS &&
      !is_syscall_error(e.regs.rax) && reader_->header().syscall_buffer &&
      reader_->header().version >= 7) {
    uint64_t moved;  // as the recorder did (core/preload_page.h)
    move_buffer_to_thread_pointer(*t.task, t.call.args[1], &moved);
  }
  if (e.new_buffer) {
    uint64_t addr = e.new_buffer;
    if (!give_thread_buffer(*t.task, e.regs.fs_base, &addr)) {
      return diverged(e, "cannot map the syscall buffer the recording gave the thread");
    }
  }
  if (t.emulated) restart_like_the_kernel(t, e);
  t.desc = nullptr;
  // Going backwards re-runs events from checkpoints: show output only once.
  if (e.echo_fd != 0 && e.seq > echoed_up_to_) {
    // The bytes are right (checked above); so must be their place in the
    // whole output, which a thread replayed out of turn would change.
    uint32_t& crc = echo_crc_[e.echo_fd - 1];
    crc = crc32(e.echo_data.data(), e.echo_data.size(), crc);
    if (crc != e.echo_crc) {
      return diverged(e, std::string("the output reached ") + (e.echo_fd == 1 ? "stdout" : "stderr") +
                             " in another order than when recording");
    }
    int fd = echo_fd_ ? echo_fd_ : e.echo_fd;
    if (echo_ && output_sink_) {
      output_sink_(fd, e.seq, e.echo_data);
    } else if (echo_) {
      write_all(fd, e.echo_data.data(), e.echo_data.size());
    }
    echoed_up_to_ = e.seq;
  }
  if (focus) {
    // The kernel's writes do not fire debug registers: compare instead.
    std::vector<std::string> watched_after = read_watched(t);
    for (size_t i = 0; i < watched_after.size(); ++i) {
      if (watched_after[i] != watched_before[i] && watchpoints_[i].kind != WatchKind::kRead) {
        trap_ = {Trap::Kind::kWatchpoint, static_cast<int>(i)};
        watch_hit_ = true;
        t.single_step = false;
        break;
      }
    }
    if (t.step_via_syscall) {
      t.step_via_syscall = false;
      if (t.single_step) {
        t.single_step = false;
        trap_ = {Trap::Kind::kStep, -1};
        step_ended_ = true;
      }
    }
  }
  return StepResult::kEvent;
}

std::vector<std::string> ReplaySession::read_watched(ReplayTask& t) {
  std::vector<std::string> values;
  for (const Watchpoint& w : watchpoints_) {
    std::string bytes(w.len, '\0');
    t.task->read_mem(w.addr, bytes.data(), w.len);
    values.push_back(std::move(bytes));
  }
  return values;
}

// A file that grew under a private mapping of it (ftruncate, a write past
// its end) made the pages past its old end valid; the recording saved
// their contents. Replay's copy of the file is the one mapped, which did
// not grow: its pages there cannot be written. Private anonymous pages
// with the mapping's protection take their place (private pages are the
// process's own either way). False if [addr, addr+len) is not in such a
// mapping.
bool ReplaySession::back_pages_past_file_end(ReplayTask& t, uint64_t addr, uint64_t len) {
  const uint64_t page = 4096;
  uint64_t lo = addr & ~(page - 1), hi = (addr + len + page - 1) & ~(page - 1);
  for (const Mapping& m : read_mappings(t.task->tid())) {
    if (m.end <= lo || m.start >= hi) continue;
    if (m.shared || m.inode == 0 || m.start > lo || m.end < hi) return false;
    int prot = (m.read ? PROT_READ : 0) | (m.write ? PROT_WRITE : 0) | (m.exec ? PROT_EXEC : 0);
    bool ok;
    // (Written through /proc/PID/mem, which a read-only page does not stop.)
    int64_t got = remote_syscall(*t.task, SYS_mmap,
                                 {lo, hi - lo, static_cast<uint64_t>(prot),
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ~uint64_t{0}, 0},
                                 &ok);
    return ok && static_cast<uint64_t>(got) == lo;
  }
  return false;
}

// At a thread's exit stop. The kernel's robust-futex cleanup marks the
// futexes the thread still holds (FUTEX_OWNER_DIED, waking a waiter) by
// finding its tid in their words; in replay those words hold the recorded
// tid, which the kernel does not know for this thread, so replay marks
// them itself, as the kernel did when recording.
void ReplaySession::release_robust_futexes(ReplayTask& t) {
  uint64_t head = 0;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, t.task->tid(), &head, &len) != 0 || head == 0) return;
  struct {
    uint64_t next;
    int64_t futex_offset;
    uint64_t pending;
  } list;
  if (!t.task->read_mem(head, &list, sizeof list)) return;
  auto release = [&](uint64_t entry) {
    uint64_t word_addr = (entry & ~uint64_t{1}) + list.futex_offset;
    uint32_t word;
    if (!t.task->read_mem(word_addr, &word, sizeof word)) return;
    if ((word & FUTEX_TID_MASK) != static_cast<uint32_t>(t.tid)) return;
    uint32_t died = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    t.task->write_mem(word_addr, &died, sizeof died);
  };
  uint64_t entry = list.next;
  for (int count = 0; entry != head && entry != 0 && count < 2048; ++count) {
    uint64_t next = 0;
    if (!t.task->read_mem(entry & ~uint64_t{1}, &next, sizeof next)) break;
    if (entry != list.pending) release(entry);
    entry = next;
  }
  if (list.pending) release(list.pending);
}

// A limit the process set on itself (setrlimit, prlimit64 of itself) is
// emulated like any call, yet some shape what the kernel does later (the
// stack's, RLIMIT_STACK, decides where a deep recursion faults): replay
// sets it on the replayed process too, from here.
void ReplaySession::set_own_rlimit(ReplayTask& t) {
  uint64_t resource, limit_addr;
  if (t.call.number == SYS_setrlimit) {
    resource = t.call.args[0];
    limit_addr = t.call.args[1];
  } else if (t.call.number == SYS_prlimit64 &&
             (t.call.args[0] == 0 || t.call.args[0] == static_cast<uint64_t>(t.tgid))) {
    resource = t.call.args[1];
    limit_addr = t.call.args[2];
  } else {
    return;
  }
  struct rlimit limit;
  if (limit_addr == 0 || !t.task->read_mem(limit_addr, &limit, sizeof limit)) return;
  prlimit(t.task->tid(), static_cast<__rlimit_resource>(resource), &limit, nullptr);
}

// The replayed process's descriptor for a file replay maps (the trace's
// copy, or the shared writable copy), opened once and left open: the
// kernel merges neighbouring mappings of one open file only, as it did
// when recording (the program mapped the file through one descriptor),
// and a later mremap across them needs that. Found again by its path in
// /proc, so forks and checkpoints (forked copies) keep finding it.
int64_t ReplaySession::tracee_fd_for(ReplayTask& t, const std::string& path, bool shared) {
  std::string fd_dir = "/proc/" + std::to_string(t.task->tid()) + "/fd";
  if (DIR* dir = opendir(fd_dir.c_str())) {
    int64_t found = -1;
    while (dirent* entry = readdir(dir)) {
      char target[PATH_MAX];
      std::string link = fd_dir + "/" + entry->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n > 0 && path.compare(0, std::string::npos, target, n) == 0) {
        found = atoi(entry->d_name);
        break;
      }
    }
    closedir(dir);
    if (found >= 0) return found;
  }
  StackScratch scratch(*t.task);
  uint64_t path_addr = scratch.push(path);
  uint64_t open_flags = (shared ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  bool ok;
  int64_t fd = remote_syscall(*t.task, SYS_openat,
                              {static_cast<uint64_t>(AT_FDCWD), path_addr, open_flags}, &ok);
  return ok ? fd : -1;
}

bool ReplaySession::remap(ReplayTask& t, const Event& e) {
  const uint64_t* a = t.call.args;
  uint64_t want = e.regs.rax;
  bool ok;
  int64_t got;
  if (t.desc->replay == ReplayAction::kMremap) {
    uint64_t flags = a[3];
    if (want != a[0]) flags |= MREMAP_MAYMOVE | MREMAP_FIXED;
    got = remote_syscall(*t.task, SYS_mremap, {a[0], a[1], a[2], flags, want}, &ok);
  } else {
    uint64_t flags = (a[3] & ~uint64_t{MAP_FIXED_NOREPLACE}) | MAP_FIXED;
    if (!e.has_mapped_file) {
      flags |= MAP_ANONYMOUS;
      got = remote_syscall(*t.task, SYS_mmap, {want, a[1], a[2], flags, ~uint64_t{0}, 0}, &ok);
    } else {
      std::string path = reader_->saved_file_path(e.mapped_file.saved_name, &error_);
      if (path.empty()) return false;
      // Shared mappings share a writable copy (never the trace's file), so
      // processes see each other's writes as they did when recorded.
      bool shared = (a[3] & MAP_SHARED_VALIDATE) != MAP_PRIVATE;
      if (shared) {
        path = shared_copies_.copy_of(path, &error_);
        if (path.empty()) return false;
      }
      int64_t fd = tracee_fd_for(t, path, shared);
      if (fd < 0) return fail_event(e, "cannot open " + path + " in the replayed process");
      got = remote_syscall(*t.task, SYS_mmap,
                           {want, a[1], a[2], flags, static_cast<uint64_t>(fd), e.mapped_file.offset},
                           &ok);
    }
  }
  if (!ok || static_cast<uint64_t>(got) != want) {
    char buf[96];
    snprintf(buf, sizeof buf, "%s returned 0x%lx, recorded 0x%lx", t.desc->name,
             static_cast<unsigned long>(got), static_cast<unsigned long>(want));
    return fail_event(e, buf);
  }
  return true;
}

bool ReplaySession::deliver_under_temporary_mask(ReplayTask& t, const Event& e) {
  uint64_t mask_addr, mask_size;
  const Event* next = peek_for_tid(e.tid);
  if (!next || next->kind != EventKind::kSignal || next->deterministic ||
      !temporary_sigmask(t.call, *t.task, &mask_addr, &mask_size)) {
    return true;
  }
  // Sent once the sigsuspend has begun: sent before, it would be delivered
  // on the way there, under the usual mask.
  pid_t tid = t.task->tid();
  int signo = next->signo;
  bool ok;
  remote_syscall(*t.task, SYS_rt_sigsuspend, {mask_addr, mask_size}, &ok,
                 [tid, signo] { syscall(SYS_tkill, tid, signo); });
  t.signal_sent = true;
  if (!ok) return fail_event(e, "cannot install the temporary signal mask");
  return true;
}

// A syscall a signal interrupted, when no handler runs for it here (another
// thread took the signal, or it was ignored): the kernel restarted it by
// moving back onto the `syscall` instruction. Replay has no signal pending
// to make the kernel do that, so it does it itself.
void ReplaySession::restart_like_the_kernel(ReplayTask& t, const Event& e) {
  int64_t result = static_cast<int64_t>(e.regs.rax);
  bool rewind = result == -ERESTARTSYS_CODE || result == -ERESTARTNOINTR_CODE ||
                result == -ERESTARTNOHAND_CODE;
  if (!rewind && result != -ERESTART_RESTARTBLOCK_CODE) return;
  const Event* next = peek_for_tid(e.tid);
  if (!next || next->kind == EventKind::kSignal) return;  // its delivery decides
  Registers regs = e.regs;
  regs.rax = rewind ? regs.orig_rax : SYS_restart_syscall;
  regs.rip -= 2;
  t.task->set_regs(regs);
}

bool ReplaySession::fail_event(const Event& e, const std::string& what) {
  diverged(e, what);
  return false;
}

ReplaySession::StepResult ReplaySession::take_over_leader(ReplayTask& t, Event& e) {
  auto leader = tasks_.find(e.leader_tid);
  if (leader == tasks_.end()) return diverged(e, "the exec'ing thread's leader is gone");
  // Into execve first: from now on this thread's own tid is the leader's.
  if (t.stopped && !resume(t)) return diverged(e, "cannot resume the thread");
  pid_t tid = leader->second->task->tid();
  tasks_.erase(leader);
  auto task = std::make_unique<Task>(tid, &tick_counters_);
  task->cache_registers();
  carry_ticks(*t.task, *task);  // hardware ticks: this thread's count, not the leader's
  t.task = std::move(task);
  // The exec stop comes under the leader's tid, after whatever stops the
  // old leader reports on its way out (the exec killed it): let it go.
  for (;;) {
    int status;
    if (wait_for(tid, &status) < 0) return diverged(e, "the exec'ing thread vanished");
    Stop stop = decode_stop(tid, status);
    if (stop.kind == StopKind::kExec) break;
    if (stop.kind != StopKind::kExited) t.task->resume();
  }
  t.stopped = true;
  t.stop_kind = StopKind::kExec;
  std::unique_ptr<ReplayTask> self = std::move(tasks_[e.tid]);
  tasks_.erase(e.tid);
  if (focus_ == e.tid) focus_ = e.leader_tid;
  t.tid = e.leader_tid;
  tasks_[e.leader_tid] = std::move(self);
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::replay_exec(ReplayTask& t, Event& e) {
  t.exec_held = false;  // its exec is the next event: let it run
  StepResult r = e.leader_tid && t.tid != e.leader_tid ? take_over_leader(t, e)
                                                        : reach(t, e, StopKind::kExec);
  if (r != StepResult::kEvent) return r;
  std::string err;
  if (!setup_at_exec_event(*t.task, filtered_, &err)) return diverged(e, err);
  // Put back the stack the kernel built when recording (argv, envp,
  // auxv, AT_RANDOM): the replay exec'd a different path, and AT_RANDOM
  // differs on every exec.
  for (const MemWrite& w : e.writes) {
    if (!t.task->write_mem(w.addr, w.data.data(), w.data.size())) {
      return diverged(e, "cannot restore the initial stack");
    }
  }
  t.initial_stack = e.writes.empty() ? MemWrite{} : e.writes.front();
  displaced_.forget(t.tgid);  // a new preload page
  for (auto& [tid, other] : tasks_) {
    if (other->tgid == t.tgid) other->patches.reset();  // gone with the old image
  }
  t.exe_saved_name = e.exe_saved_name;
  t.task->set_regs(e.regs);
  t.exec_exit_pending = true;
  t.desc = nullptr;
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::replay_new_task(ReplayTask& t, Event& e) {
  if (StepResult r = reach(t, e, StopKind::kNewTask); r != StepResult::kEvent) return r;
  pid_t real = static_cast<pid_t>(t.task->event_msg());
  auto child = std::make_unique<ReplayTask>();
  child->task = std::make_unique<Task>(real, &tick_counters_);
  child->task->cache_registers();
  child->task->syscall_gadget = t.task->syscall_gadget;
  child->task->untraced_syscall = t.task->untraced_syscall;
  child->initial_stack = t.initial_stack;
  child->exe_saved_name = t.exe_saved_name;
  child->patches = t.patches;
  child->stopped = false;
  child->tgid = (e.clone_flags & CLONE_THREAD) ? t.tgid : e.new_tid;
  if (self_filtered_.count(t.tgid)) self_filtered_.insert(child->tgid);  // inherited
  segv_dispositions_.on_new_task(t.tgid, t.tid, child->tgid, e.new_tid);
  // Consume the child's first stop now so its memory can be fixed up.
  Stop first;
  std::string what;
  if (advance(*child, StopKind::kGroupStop, 0, &first, &what) != Advance::kOk) {
    return diverged(e, what);
  }
  if (is_debugged(t) && !(e.clone_flags & CLONE_VM)) {
    breakpoints_.uninstall(*child->task);  // the copy must not trap on them
  }
  child->tid = e.new_tid;
  if (is_debugged(t) && (e.clone_flags & CLONE_THREAD)) {
    program_watchpoints(*child->task, watchpoints_);  // debug registers are per thread
    // Until it makes an event of its own, the new thread's last event is
    // the one that made it: going back to the point just after it finds
    // the thread as it started (a thread that runs into a breakpoint
    // before any syscall of its own, then is reverse-stepped).
    child->last_seq = e.seq;
  }
  if (e.clone_flags & CLONE_CHILD_SETTID) {
    // The kernel stored the replay's tid; the program saw the recorded one.
    int32_t tid = e.new_tid;
    uint64_t addr = clone_child_tid_addr(t);
    if (addr) child->task->write_mem(addr, &tid, sizeof tid);
  }
  tasks_[e.new_tid] = std::move(child);
  return StepResult::kEvent;
}

// The registers that name a point in the middle of computation: all but
// orig_rax, which still holds the last syscall's number there when
// recording (a signal right after one) and -1 after a trap in replay.
namespace {
// Recorders before trace version 3 stored the fingerprint as is, later
// ones with bit 0 set (so that it is never 0).
bool same_stack(uint64_t fingerprint, uint64_t recorded, uint32_t trace_version) {
  return (trace_version >= 3 ? fingerprint | 1 : fingerprint) == recorded;
}

Registers mid_computation(Registers recorded, const Registers& now) {
  recorded.orig_rax = now.orig_rax;
  return recorded;
}
}  // namespace

// Runs `t` to the point of event `e` in the middle of computation (a
// signal's arrival, a wall-clock preemption, a hardware tick interrupt):
// first to tick count ticks-1 with the counter's own interrupt (a signal
// may have come inside the counting sequence of branch `ticks`; hardware
// ticks stop up to their skid short of it), then to the recorded pc with a
// temporary breakpoint, until the count, all registers and (without
// ticks) the stack fingerprint match.
ReplaySession::Advance ReplaySession::run_to_recorded_point(ReplayTask& t, const Event& e,
                                                       std::string* what) {
  Task& task = *t.task;
  bool armed = e.ticks > 1 && arm_ticks_by(task, e.ticks - 1);
  uint64_t pc = e.regs.rip;
  uint8_t original = 0, int3 = 0xcc;
  bool placed = false, stepping_off = false;
  auto place = [&] {
    placed = task.read_mem(pc, &original, 1) && task.write_mem(pc, &int3, 1);
  };
  auto lift = [&] {
    if (placed) task.write_mem(pc, &original, 1);
    placed = false;
  };
  if (!armed) place();
  for (;;) {
    bool ok = t.stopped ? (stepping_off ? task.single_step(t.resume_sig) : run_user_code(task, t.resume_sig))
                        : true;
    t.resume_sig = 0;
    t.at_event = false;
    if (!ok) {
      *what = "cannot resume the thread";
      return Advance::kFailed;
    }
    t.stopped = false;
    int status;
    if (wait_for(task.tid(), &status) < 0) {
      *what = "the thread vanished";
      return Advance::kFailed;
    }
    Stop stop = decode_stop(task.tid(), status);
    t.stopped = stop.kind != StopKind::kExited;
    t.stop_kind = stop.kind;
    settle_displaced(t, stop);
    if (stop.kind == StopKind::kSignal && stop.sig == SIGSTOP && watchdog_.take_poke()) continue;
    if (stop.kind == StopKind::kSignal && stop.sig != SIGTRAP && take_tick_interrupt(task, stop.sig)) {
      armed = false;  // the hardware counter's (SIGTRAP is the soft one's, below)
      if (!placed) place();
      continue;
    }
    if (stop.kind == StopKind::kSignal && stop.sig == SIGTRAP) {
      Registers regs;
      task.get_regs(&regs);
      if (stepping_off) {
        stepping_off = false;
        place();
        continue;
      }
      if (take_tick_trap(task)) {
        armed = false;
        if (!placed) place();
        continue;
      }
      if (placed && regs.rip == pc + 1) {
        regs.rip = pc;
        task.set_regs(regs);
        // Without ticks (a wall-clock slice) the stack top tells loop
        // iterations apart.
        bool here = read_ticks(task) == e.ticks && diff_registers(mid_computation(e.regs, regs), regs).empty() &&
                    (e.ticks != 0 || same_stack(stack_fingerprint(task, regs.rsp), e.stack_hash, reader_->header().version));
        if (here) {
          lift();
          return Advance::kOk;
        }
        lift();
        stepping_off = true;
        continue;
      }
    }
    if (stop.kind == StopKind::kSignal) {
      siginfo_t info;
      if (task.get_siginfo(&info) && !is_synchronous_signal(info)) continue;  // the real kernel's
    }
    if (stop.kind == StopKind::kGroupStop) continue;
    lift();
    if (armed) set_tick_target(task, UINT64_MAX);
    char pc[32];
    snprintf(pc, sizeof pc, "0x%llx", e.regs.rip);
    *what = "the recorded point (tick " + std::to_string(e.ticks) + ", pc " + pc +
            ") was not reached; got " + describe_stop(stop) + " at tick " +
            std::to_string(read_ticks(task));
    return Advance::kFailed;
  }
}

ReplaySession::StepResult ReplaySession::replay_signal(ReplayTask& t, Event& e) {
  if (e.tracer == SignalTracer::kInjected) return replay_injected_signal(t, e);
  if (e.ticks && !t.signal_sent) {
    std::string what;
    if (run_to_recorded_point(t, e, &what) != Advance::kOk) return diverged(e, what);
  }
  if (!e.deterministic && !t.signal_sent) {
    // It came from outside when recording: send it now, so the kernel
    // delivers it at the same point.
    syscall(SYS_tkill, t.task->tid(), e.signo);
    t.signal_sent = true;
  }
  if (StepResult r = reach(t, e, StopKind::kSignal, e.signo); r != StepResult::kEvent) return r;
  t.signal_sent = false;
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.ticks ? mid_computation(e.regs, regs) : e.regs, regs);
  if (!diff.empty()) return diverged(e, "at signal delivery, " + diff);
  if (!e.deterministic && e.siginfo.size() == sizeof(siginfo_t)) {
    siginfo_t info;
    memcpy(&info, e.siginfo.data(), sizeof info);
    t.task->set_siginfo(info);
  }
  // Stopped for its recorded tracer: held here, the signal not delivered.
  t.resume_sig = e.tracer == SignalTracer::kStopped ? 0 : e.signo;
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::replay_instruction(ReplayTask& t, Event& e) {
  if (StepResult r = reach(t, e, StopKind::kSignal, SIGSEGV); r != StepResult::kEvent) return r;
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) return diverged(e, "at rdtsc/cpuid, " + diff);
  InsnResult insn = decode_trapped_insn(*t.task, regs);
  if (insn.insn == TrappedInsn::kNone || insn.length != e.insn_len) {
    return diverged(e, "no rdtsc/rdtscp/cpuid instruction at the recorded address");
  }
  if (!segv_dispositions_.restore_after_trap(t.tgid, t.tid, *t.task)) {
    return diverged(e, "cannot restore the thread's SIGSEGV action");
  }
  insn.rax = e.values[0];
  insn.rbx = e.values[1];
  insn.rcx = e.values[2];
  insn.rdx = e.values[3];
  apply_trapped_insn(insn, &regs);
  t.task->set_regs(regs);
  t.resume_sig = 0;
  if (t.single_step) {
    // The emulated instruction was the whole step.
    t.single_step = false;
    trap_ = {Trap::Kind::kStep, -1};
    step_ended_ = true;
  }
  return StepResult::kEvent;
}

// The syscalls the thread ran in-process before its next event: put them
// back into its buffer, where the buffering engine takes them from.
ReplaySession::StepResult ReplaySession::replay_buffer_flush(ReplayTask& t, Event& e) {
  for (const MemWrite& w : e.writes) {
    if (!t.task->write_mem(w.addr, w.data.data(), w.data.size())) {
      return diverged(e, "cannot write the thread's syscall buffer");
    }
  }
  return StepResult::kEvent;
}

// The recorder patched the thread's code to count ticks here: map the same
// patch file from the trace at the same places (nothing is decoded again),
// and extend the process's map for the debugger.
ReplaySession::StepResult ReplaySession::replay_instrument(ReplayTask& t, Event& e) {
  std::string what;
  std::shared_ptr<const instrument::PatchMap> map = patch_map(e.patch_saved_name, &what);
  if (!map) return diverged(e, what);
  std::string path = reader_->saved_file_path(e.patch_saved_name, &what);
  if (path.empty() || !map_tick_patch(*t.task, path, e.patch_code.addr, e.patch_code.len,
                                      e.patch_stubs.addr, e.patch_stubs.len)) {
    return diverged(e, "cannot map the tick patch " + e.patch_saved_name);
  }
  if (is_debugged(t)) {
    breakpoints_.refresh(*t.task, e.patch_code.addr, e.patch_code.addr + e.patch_code.len);
  }
  displaced_.forget(t.tgid, e.patch_code.addr, e.patch_code.addr + e.patch_code.len);
  auto patches = std::make_shared<instrument::PatchSet>(t.patches ? *t.patches : instrument::PatchSet());
  patches->add(e.patch_code.addr, e.patch_code.addr + e.patch_code.len, map);
  for (auto& [tid, other] : tasks_) {
    if (other->tgid == t.tgid) other->patches = patches;
  }
  return StepResult::kEvent;
}

// The map of a patch file of the trace, read once however many processes
// use it.
std::shared_ptr<const instrument::PatchMap> ReplaySession::patch_map(const std::string& name,
                                                                     std::string* what) {
  auto it = patch_maps_.find(name);
  if (it != patch_maps_.end()) return it->second;
  std::string path = reader_->saved_file_path(name, what);
  auto map = std::make_shared<instrument::PatchMap>();
  instrument::PatchFileLayout layout;
  if (path.empty() || !instrument::read_patch_file(path, &layout, map.get(), what)) {
    if (what->empty()) *what = "the trace lacks the patch " + name;
    return nullptr;
  }
  patch_maps_[name] = map;
  return map;
}

// The recorder preempted the thread when its tick count reached e.ticks:
// arm the same target and let the counter's own trap stop it there. With
// no ticks (a wall-clock slice) the point is found by registers and stack;
// with hardware ticks, whose interrupt lands late, by count and registers.
ReplaySession::StepResult ReplaySession::replay_schedule(ReplayTask& t, Event& e) {
  if (e.ticks == 0 || e.stack_hash != 0 || !tick_interrupts_exact(*t.task)) {
    std::string what;
    switch (run_to_recorded_point(t, e, &what)) {
      case Advance::kOk: return StepResult::kEvent;
      case Advance::kTrapped: return trapped(e);
      case Advance::kFailed: return diverged(e, what);
    }
  }
  if (!t.tick_target_armed) {
    set_tick_target(*t.task, e.ticks);
    t.tick_target_armed = true;
  }
  for (;;) {
    if (StepResult r = reach(t, e, StopKind::kSignal, SIGTRAP); r != StepResult::kEvent) return r;
    if (take_tick_trap(*t.task)) break;
    return diverged(e, "a SIGTRAP that is not the tick counter's");
  }
  t.tick_target_armed = false;
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) return diverged(e, "at the preemption point, " + diff);
  return StepResult::kEvent;
}

// A process a signal killed: the thread it was delivered to may still be
// held at that delivery (its own exit event comes later), while `t`, one of
// its siblings, sits where the kill found it when recording, perhaps in a
// call replay does not block in. Letting the delivery go ends them all.
void ReplaySession::release_fatal_signal(ReplayTask& t, int sig) {
  for (auto& [tid, other] : tasks_) {
    if (other.get() == &t || other->tgid != t.tgid || !other->stopped ||
        other->stop_kind != StopKind::kSignal || other->resume_sig != sig) {
      continue;
    }
    if (resume(*other)) other->stopped = false;
    return;
  }
}

// Takes a thread that is ending its process (exit_group, or the last
// thread's exit) from its syscall entry past its exit stop.
bool ReplaySession::past_exit_stop(ReplayTask& t, std::string* what) {
  Stop stop;
  if (t.stopped && !resume(t)) {
    *what = "cannot resume the exiting thread";
    return false;
  }
  if (advance(t, StopKind::kExiting, 0, &stop, what) != Advance::kOk) return false;
  if (!resume(t)) {
    *what = "cannot resume the exiting thread";
    return false;
  }
  t.stopped = false;
  return true;
}

ReplaySession::StepResult ReplaySession::replay_exit(ReplayTask& t, Event& e) {
  // The first end in a process whose execve or exit_group waits at its
  // entry lets it go: that exec or group exit caused this end when
  // recorded, and kills the thread where it stands (just wait for it).
  for (auto& [tid, other] : tasks_) {
    if (other->tgid != t.tgid) continue;
    if (other->exec_held) {
      other->exec_held = false;
      if (!resume(*other)) return diverged(e, "cannot resume the exec'ing thread");
      t.stopped = false;
    }
    if (other->group_exit_held) {
      other->group_exit_held = false;
      std::string what;
      if (!past_exit_stop(*other, &what)) return diverged(e, what);
      if (other.get() != &t) t.stopped = false;
    }
  }
  if (WIFSIGNALED(e.exit_status) && WTERMSIG(e.exit_status) == SIGKILL) {
    // A SIGKILLed thread may not stop at its exit (PTRACE_EVENT_EXIT) on
    // its way out: its robust futexes are released here, while it stands.
    if (t.stopped) release_robust_futexes(t);
    kill(t.task->tid(), SIGKILL);  // SIGKILL leaves no delivery stop to replay
  } else if (WIFSIGNALED(e.exit_status) && t.exit_status < 0) {
    release_fatal_signal(t, WTERMSIG(e.exit_status));
  }
  Stop stop;
  if (t.exit_status >= 0) {
    stop.status = t.exit_status;  // collected at its exit syscall
  } else {
    std::string what;
    if (advance(t, StopKind::kExited, 0, &stop, &what) != Advance::kOk) {
      return diverged(e, what);
    }
  }
  if (!same_exit(e.exit_status, stop.status)) {
    return diverged(e, "the process ended with " + describe_status(stop.status) + ", recorded " +
                           describe_status(e.exit_status));
  }
  segv_dispositions_.on_exit(t.tgid, e.tid);
  tasks_.erase(e.tid);
  return StepResult::kEvent;
}

// ---- Debugging the focus thread ----

bool ReplaySession::set_focus(int32_t tid) {
  if (tid == 0) {
    focus_ = focus_tgid_ = 0;
    return true;
  }
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) return false;
  focus_ = tid;
  focus_tgid_ = it->second->tgid;
  return true;
}

bool ReplaySession::is_debugged(const ReplayTask& t) const {
  return focus_tgid_ != 0 && t.tgid == focus_tgid_;
}

bool ReplaySession::in_focus_process(int32_t tid) const {
  auto it = tasks_.find(tid);
  return it != tasks_.end() && is_debugged(*it->second);
}

bool ReplaySession::ends_debugged_process(const ReplayTask& t, const Event& e) const {
  return is_debugged(t) && (e.syscall_no == SYS_exit_group || !other_threads_alive(t));
}

std::vector<int32_t> ReplaySession::debugged_threads() const {
  std::vector<int32_t> ids;
  for (const auto& [tid, t] : tasks_) {
    if (is_debugged(*t)) ids.push_back(tid);
  }
  return ids;
}

Task* ReplaySession::focus_task() {
  auto it = tasks_.find(focus_);
  return it == tasks_.end() ? nullptr : it->second->task.get();
}

const ReplayTask* ReplaySession::focus_state() const { return task(focus_); }

uint64_t ReplaySession::focus_event() const {
  const ReplayTask* t = focus_state();
  return t ? t->last_seq : 0;
}

bool ReplaySession::focus_at_event() const {
  const ReplayTask* t = focus_state();
  return t && t->at_event && t->last_seq == seq_;
}

bool ReplaySession::focus_can_run_to_ticks(uint64_t ticks) {
  auto it = tasks_.find(focus_);
  if (it == tasks_.end()) return false;
  const ReplayTask& t = *it->second;
  bool in_syscall = t.stop_kind == StopKind::kSyscallEntry || t.stop_kind == StopKind::kExec ||
                    t.stop_kind == StopKind::kNewTask || t.stop_kind == StopKind::kVforkDone ||
                    t.stop_kind == StopKind::kExiting;
  return t.stopped && !in_syscall && !t.resume_sig && !t.tick_target_armed && !t.single_step &&
         !t.stepping_over && read_ticks(*t.task) < ticks;
}

bool ReplaySession::run_focus_to_ticks(uint64_t ticks, const std::function<void()>& on_debugger_trap) {
  if (!focus_can_run_to_ticks(ticks)) return false;
  ReplayTask& t = *tasks_.at(focus_);
  // Hardware ticks stop short (their skid) and single-step the rest.
  bool exact = tick_interrupts_exact(*t.task);
  bool armed = exact ? set_tick_target(*t.task, ticks) : arm_ticks_by(*t.task, ticks - 1);
  if (exact && !armed) return false;
  // Without a callback the debugger's breakpoints and watchpoints are
  // lifted for the run: a loop would otherwise stop at each of them on
  // every iteration.
  bool lift = !on_debugger_trap;
  Breakpoints lifted;
  if (lift) {
    breakpoints_.uninstall(*t.task);
    std::swap(lifted, breakpoints_);
    program_watchpoints(*t.task, {});
  }
  bool reached = false;
  while (armed) {
    Stop stop;
    std::string what;
    Advance a = advance(t, StopKind::kSignal, tick_interrupt_signal(*t.task), &stop, &what);
    if (a == Advance::kTrapped) {
      if (trap_.kind == Trap::Kind::kInterrupt) break;  // Ctrl-C: where it is
      if (on_debugger_trap) on_debugger_trap();
      continue;
    }
    if (a == Advance::kFailed || !take_tick_interrupt(*t.task, stop.sig)) break;
    armed = false;
    if (read_ticks(*t.task) == ticks) {
      t.at_event = false;
      reached = true;
      break;
    }
  }
  if (!exact && !armed) reached = step_focus_to_ticks(t, ticks, on_debugger_trap);
  if (!reached) set_tick_target(*t.task, UINT64_MAX);
  if (lift) {
    std::swap(lifted, breakpoints_);
    breakpoints_.install(*t.task);
    program_watchpoints(*t.task, watchpoints_);
  }
  return reached;
}

void ReplaySession::request_single_step(bool on) {
  auto it = tasks_.find(focus_);
  if (it == tasks_.end()) return;
  ReplayTask& t = *it->second;
  t.single_step = on;
  Registers regs;
  t.step_engine_return = 0;
  if (on && t.patches && t.task->get_regs(&regs)) {
    auto where = t.patches->to_original(regs.rip);
    t.step_origin = where.orig_pc;
    // From the jump after a syscall stub's syscall the next program
    // instruction is still ahead, as from glue; from a stub's entry the
    // syscall still is (its copy maps to the same program address).
    t.step_from_glue = where.in_glue || where.after_syscall || where.site_entry;
  } else {
    t.step_from_glue = false;
  }
}

// A single step of `t` ended on instrumentation (tick or syscall stub
// glue, or inside the buffering engine a syscall stub called), or (having
// started on the jump into a stub) at the stub's copy of the same
// instruction: to the debugger a step is one program instruction, so it
// goes on.
bool ReplaySession::step_continues_in_stub(ReplayTask& t) {
  siginfo_t info;
  Registers regs;
  if (!t.patches || !t.single_step || !t.task->get_siginfo(&info) || info.si_code != TRAP_TRACE ||
      !t.task->get_regs(&regs)) {
    return false;
  }
  if (t.step_engine_return) {
    bool back = regs.rsp == t.step_engine_rsp &&
                (regs.rip == t.step_engine_return ||
                 regs.rip == t.step_engine_return + RRX_SITE_HANDLED_SKIP);
    if (!back) return true;
    t.step_engine_return = 0;
  }
  auto where = t.patches->to_original(regs.rip);
  if (where.engine_return) {  // the next step enters the engine
    t.step_engine_return = where.engine_return;
    t.step_engine_rsp = regs.rsp;
  }
  return where.in_glue || (t.step_from_glue && where.orig_pc == t.step_origin);
}

const ReplayTask* ReplaySession::task(int32_t tid) const {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

std::vector<int32_t> ReplaySession::tids() const {
  std::vector<int32_t> ids;
  for (const auto& [tid, t] : tasks_) ids.push_back(tid);
  return ids;
}

bool ReplaySession::set_watchpoints(const std::vector<Watchpoint>& watchpoints) {
  std::vector<int32_t> threads = debugged_threads();
  if (threads.empty()) return false;
  for (int32_t tid : threads) {
    if (!program_watchpoints(*tasks_[tid]->task, watchpoints)) return false;
  }
  watchpoints_ = watchpoints;
  return true;
}

// ---- Checkpoints ----

// Not inside a syscall or signal delivery the replay started: a stop it has
// collected, at a syscall's end, a signal or a job-control stop.
bool ReplaySession::at_clean_stop(const ReplayTask& t) {
  return t.stopped && t.resume_sig == 0 && !t.stepping_over &&
         (t.stop_kind == StopKind::kSyscallExit || t.stop_kind == StopKind::kSignal ||
          t.stop_kind == StopKind::kGroupStop);
}

bool ReplaySession::focus_at_clean_stop() const {
  const ReplayTask* t = focus_state();
  return t && at_clean_stop(*t);
}

bool ReplaySession::to_clean_stop(ReplayTask& t, std::string* error) {
  // A thread waiting at the entry of an emulated syscall (a parent in
  // wait4 for its child's whole life) goes on to the syscall's exit
  // stop now: the kernel skips it either way, and there it can be forked.
  if (t.stopped && t.stop_kind == StopKind::kSyscallEntry && t.emulated && t.desc &&
      !t.at_exit_early) {
    Stop stop;
    std::string what;
    if (advance(t, StopKind::kSyscallExit, 0, &stop, &what) != Advance::kOk) {
      *error = "thread " + std::to_string(t.tid) + ": " + what;
      return false;
    }
    t.at_exit_early = true;
  }
  if (!at_clean_stop(t)) {
    *error = "thread " + std::to_string(t.tid) + " is in the middle of a syscall or signal";
    return false;
  }
  return true;
}

bool ReplaySession::focus_ready_to_copy(std::string* error) {
  auto it = tasks_.find(focus_);
  if (it == tasks_.end() || !it->second->task) {
    *error = "no thread to copy here";
    return false;
  }
  return to_clean_stop(*it->second, error);
}

std::shared_ptr<SessionCheckpoint> ReplaySession::checkpoint(std::string* error) {
  std::map<int32_t, int> threads_per_process;
  for (auto& [tid, t] : tasks_) {
    if (++threads_per_process[t->tgid] > 1) {
      *error = "processes with several threads cannot be checkpointed yet";
      return nullptr;
    }
  }
  for (auto& [tid, t] : tasks_) {
    if (!to_clean_stop(*t, error)) return nullptr;
  }
  auto cp = std::make_shared<SessionCheckpoint>();
  Task* focus = focus_task();
  if (focus) breakpoints_.uninstall(*focus);
  for (auto& [tid, t] : tasks_) {
    pid_t copy = fork_stopped_copy(*t->task, error);
    if (copy < 0) break;
    SessionCheckpoint::TaskCopy tc;
    tc.state = *t;  // ReplayTaskState part
    tc.pid = copy;
    tc.gadget = t->task->syscall_gadget;
    tc.ticks = hw_thread_ticks(*t->task) ? read_ticks(*t->task) : 0;
    cp->tasks.emplace(tid, std::move(tc));
  }
  if (focus) breakpoints_.install(*focus);
  if (cp->tasks.size() != tasks_.size()) return nullptr;
  cp->seq = seq_;
  cp->micros = micros_;
  cp->lookahead = lookahead_;
  cp->reader_position = reader_->tell();
  cp->focus = focus_;
  cp->fds = fds_.clone();
  cp->segv_dispositions = segv_dispositions_;
  return cp;
}

bool ReplaySession::restore(const SessionCheckpoint& cp, std::string* error) {
  kill_all();
  displaced_.forget_all();
  for (const auto& [tid, tc] : cp.tasks) {
    Task original(tc.pid);
    original.syscall_gadget = tc.gadget;
    pid_t copy = fork_stopped_copy(original, error);
    if (copy < 0) return false;
    auto t = std::make_unique<ReplayTask>();
    static_cast<ReplayTaskState&>(*t) = tc.state;
    t->task = std::make_unique<Task>(copy, &tick_counters_);
    t->task->cache_registers();
    t->task->syscall_gadget = tc.gadget;
    start_ticks_at(*t->task, tc.ticks);  // hardware ticks: the copy counts on from there
    t->stopped = true;
    tasks_[tid] = std::move(t);
  }
  seq_ = cp.seq;
  micros_ = cp.micros;
  seq_tid_ = 0;
  last_event_ = {};
  lookahead_ = cp.lookahead;
  fds_ = cp.fds.clone();
  segv_dispositions_ = cp.segv_dispositions;
  set_focus(cp.focus);
  process_ending_ = false;
  if (!reader_->seek(cp.reader_position, error)) return false;
  if (Task* focus = focus_task()) {
    breakpoints_.install(*focus);
    program_watchpoints(*focus, watchpoints_);
  }
  return true;
}

}  // namespace rrx


