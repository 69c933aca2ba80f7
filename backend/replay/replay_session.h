// Replays a trace: re-executes the recorded program, feeding it the
// recorded results of everything non-deterministic, and checks at every
// event that it is still doing exactly what it did when recorded.
//
// For debugging, one thread is the focus: it can have breakpoints and
// watchpoints, be single-stepped, and the session can be checkpointed (all
// replayed processes forked) and restored.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "core/hw_tick_source.h"
#include "core/segv_disposition.h"
#include "core/tracer_cpuid.h"
#include "replay/breakpoints.h"
#include "replay/displaced_steps.h"
#include "replay/fd_table.h"
#include "replay/replay_segments.h"
#include "replay/run_watchdog.h"
#include "replay/shared_file_copies.h"
#include "instrument/patch_set.h"
#include "trace/trace_reader.h"

namespace rrx {

struct ReplayTask;
struct SessionCheckpoint;
struct Stop;
enum class StopKind;

class ReplaySession {
 public:
  // Opens the trace and starts the first process, stopped before its
  // first instruction. On failure returns nullptr and sets *error.
  static std::unique_ptr<ReplaySession> start(const std::string& trace_dir,
                                              std::string* error);
  ~ReplaySession();

  enum class StepResult {
    kEvent,       // replayed one event
    kTrap,        // the focus thread stopped for the debugger (see trap())
    kFocusEnd,    // the focus thread's next event is its exit: not replayed
    kEnd,         // the trace is over (see early_end())
    kError,       // replay cannot go on; error() says why
  };
  // Replays the next event, unless the focus thread traps first.
  StepResult step();
  const std::string& error() const { return error_; }
  const TraceReader& trace() const { return *reader_; }
  // The replaying thread faults on cpuid while its tracees do (core/
  // tracer_cpuid.h); called before each run, this turns that off for good
  // if rrx's SIGSEGV handler was replaced meanwhile.
  void check_tracer_cpuid() {
    if (tracer_cpuid_) tracer_cpuid_->stop_if_unsafe();
  }
  // Why the trace ends while the program still runs ("" if it does not):
  // the recording was cut short (the recorder was killed), or the user
  // ended it with a signal. Replay ends at the last event recorded; the
  // threads still there are killed with the session.
  std::string early_end() const;
  // Path of a file saved in the trace, "" if it is missing or damaged.
  std::string saved_file_path(const std::string& name);

  // The number of the last event replayed (0 before the first).
  uint64_t current_event() const { return seq_; }
  // When the recorder met that event: microseconds since the recording
  // started (0 before the first event, or in traces without the times).
  uint64_t current_event_micros() const { return micros_; }
  // The recorded tid of that event's thread (0 after a restore).
  int32_t current_event_tid() const { return seq_tid_; }
  // What that event was, for a debugger that stops at signals and
  // syscalls (seq 0 after a restore).
  struct EventSummary {
    uint64_t seq = 0;
    EventKind kind = EventKind::kSyscallEntry;
    int32_t tid = 0;
    int32_t syscall_no = -1;  // kSyscallEntry, kSyscallExit
    int32_t signo = 0;        // kSignal: delivered when the thread resumes
  };
  const EventSummary& last_event() const { return last_event_; }
  // Whether the thread `tid` belongs to the focus process.
  bool in_focus_process(int32_t tid) const;
  // The recorded tid of the next event's thread (0 at the end): the one
  // thread that runs user code until that event.
  int32_t next_event_tid();
  // Whether bytes the program wrote to stdout/stderr are written out, and
  // to which fd (0: the same one they went to).
  void set_echo_output(bool echo, int to_fd = 0) {
    echo_ = echo;
    echo_fd_ = to_fd;
  }
  // Hands echoed output to `sink` (fd, event number, bytes) instead of
  // writing it (`rrx replay -M` marks each line with its event).
  using OutputSink = std::function<void(int fd, uint64_t event, const std::string& data)>;
  void set_output_sink(OutputSink sink) { output_sink_ = std::move(sink); }

  // ---- Debugging one thread ----
  // Makes the thread with recorded tid `tid` the focus (0: none): the
  // debugger looks at it, and all threads of its process are debugged
  // (breakpoints, watchpoints). A thread that traps becomes the focus.
  bool set_focus(int32_t tid);
  int32_t focus_process() const { return focus_tgid_; }
  std::vector<int32_t> debugged_threads() const;
  int32_t focus() const { return focus_; }
  bool has_task(int32_t tid) const { return tasks_.count(tid) != 0; }
  // A live replayed thread's state, or nullptr.
  const ReplayTask* task(int32_t tid) const;
  std::vector<int32_t> tids() const;
  Task* focus_task();
  // Whether the focus thread sits in a stop the replay has collected where
  // returning to user code is harmless (so it may be forked).
  bool focus_at_clean_stop() const;
  // The last event of the focus thread that was replayed.
  uint64_t focus_event() const;
  // True while the focus thread has run no instruction since that event.
  bool focus_at_event() const;

  // Whether the focus thread's next resume runs just one instruction.
  void request_single_step(bool on);
  struct Trap {
    // kInterrupt: a run stopped because set_interrupt_check said so.
    enum class Kind { kBreakpoint, kStep, kWatchpoint, kInterrupt } kind = Kind::kStep;
    int watchpoint = -1;  // index into the programmed watchpoints
  };
  const Trap& trap() const { return trap_; }

  // While set, a debugged thread that runs user code for long (no event, no
  // trap: a syscall-free loop) is stopped now and then and `check` asked
  // whether to stop there for good: a trap of kind kInterrupt, at a program
  // instruction (run_watchdog.h). Unset it after the resume.
  // Not with hardware ticks: their per-stop accounting may rewrite the
  // tick page while a poked thread stands inside a stub's count sequence.
  void set_interrupt_check(std::function<bool()> check) {
    interrupt_check_ = std::move(check);
    watchdog_.arm(interrupt_check_ && tick_counters_.kind == TickCounterKind::kNone);
  }

  Breakpoints& breakpoints() { return breakpoints_; }
  const DisplacedSteps& displaced_steps() const { return displaced_; }
  bool set_watchpoints(const std::vector<Watchpoint>& watchpoints);

  // Forks every replayed process into a stopped copy, so the session can
  // come back here. Fails (nullptr, *error) if some thread is inside a
  // syscall or about to take a signal.
  std::shared_ptr<SessionCheckpoint> checkpoint(std::string* error);

  // Runs the focus thread on (from a stop in user code, no signal to
  // deliver, no tick target of the replay's own armed) until its process's
  // tick count reaches `ticks`, which must lie before the thread's next
  // event. (Hardware ticks: the thread's count, at the first instruction
  // after the branch that made it `ticks`.) Without `on_debugger_trap` the debugger's breakpoints and
  // watchpoints are lifted meanwhile; with it they stay, and it is called
  // at each of their traps (trap() says which). False if the thread stopped
  // elsewhere first: the session must then be restored.
  bool run_focus_to_ticks(uint64_t ticks, const std::function<void()>& on_debugger_trap = nullptr);
  // Whether run_focus_to_ticks(ticks) may start from here.
  bool focus_can_run_to_ticks(uint64_t ticks);
  bool restore(const SessionCheckpoint& checkpoint, std::string* error);

  // ---- Spinning off (replay/spin_off.h) ----
  // The recorded processes' fd tables, as replayed up to now.
  const FdTables& fd_tables() const { return fds_; }
  // Brings the focus thread to a stop where it can be copied (as
  // checkpoint() does for every thread); false and *error if it cannot be.
  bool focus_ready_to_copy(std::string* error);

 private:
  enum class Advance { kOk, kTrapped, kFailed };

  explicit ReplaySession(std::unique_ptr<TraceReader> reader);
  bool spawn_root();
  bool next_event(Event* event);
  // The next event of `tid` (`skip` = 1: the one after it, ...).
  const Event* peek_for_tid(int32_t tid, int skip = 0);
  StepResult diverged(const Event& event, const std::string& what);
  StepResult trapped(Event& event);
  StepResult reach(ReplayTask& t, Event& e, StopKind kind, int sig = 0);
  bool killed_after_syscall(ReplayTask& t);
  // The thread's next recorded event is its end by SIGKILL.
  bool killed_at_entry(int32_t tid);
  bool past_exit_stop(ReplayTask& t, std::string* what);
  bool to_clean_stop(ReplayTask& t, std::string* error);
  // Feeds the event just replayed to fds_.
  void track_fds(const Event& e);
  static bool at_clean_stop(const ReplayTask& t);
  // The recording shows the syscall `tid` is entering end its process by
  // SIGSYS: a seccomp filter of the program's killed it.
  bool killed_by_program_filter(int32_t tid);
  Advance advance(ReplayTask& t, StopKind want, int want_sig, Stop* out, std::string* what);
  bool resume(ReplayTask& t);
  // At the first stop after a resume: a displaced step is over.
  void settle_displaced(ReplayTask& t, const Stop& stop);
  bool run_user_code(Task& task, int sig);
  Advance run_to_recorded_point(ReplayTask& t, const Event& e, std::string* what);
  // Hardware ticks (replay_hw_ticks.cc): the end of run_focus_to_ticks by
  // single steps; the count at every event checked against the recording.
  bool step_focus_to_ticks(ReplayTask& t, uint64_t ticks,
                           const std::function<void()>& on_debugger_trap);
  StepResult check_ticks_at_event(ReplayTask& t, const Event& e);
  bool classify_trap(ReplayTask& t);
  bool finish_engine_call(ReplayTask& t);
  bool interrupted_in_user_code(ReplayTask& t);
  bool leave_instrumentation(ReplayTask& t);
  bool run_to_trap(Task& task, bool step, Registers* regs);
  bool step_continues_in_stub(ReplayTask& t);
  void kill_all();

  StepResult replay_event(ReplayTask& t, Event& e);
  StepResult replay_syscall_entry(ReplayTask& t, Event& e);
  StepResult replay_syscall_exit(ReplayTask& t, Event& e);
  StepResult replay_exec(ReplayTask& t, Event& e);
  // Before an exec by a thread other than its leader: the leader goes
  // without an exit report and `t` waits for the exec under its tid.
  StepResult take_over_leader(ReplayTask& t, Event& e);
  StepResult replay_new_task(ReplayTask& t, Event& e);
  StepResult replay_signal(ReplayTask& t, Event& e);
  StepResult replay_instruction(ReplayTask& t, Event& e);
  void release_fatal_signal(ReplayTask& t, int sig);
  StepResult replay_exit(ReplayTask& t, Event& e);
  StepResult replay_schedule(ReplayTask& t, Event& e);
  StepResult replay_buffer_flush(ReplayTask& t, Event& e);
  StepResult replay_instrument(ReplayTask& t, Event& e);
  // What a recorded program's ptrace did to the thread (replay_ptrace.cc).
  StepResult replay_tracer_change(ReplayTask& t, Event& e);
  StepResult replay_injected_signal(ReplayTask& t, Event& e);
  std::shared_ptr<const instrument::PatchMap> patch_map(const std::string& name, std::string* what);
  bool remap(ReplayTask& t, const Event& e);
  int64_t tracee_fd_for(ReplayTask& t, const std::string& path, bool shared);
  void set_own_rlimit(ReplayTask& t);
  void release_robust_futexes(ReplayTask& t);
  bool back_pages_past_file_end(ReplayTask& t, uint64_t addr, uint64_t len);
  bool deliver_under_temporary_mask(ReplayTask& t, const Event& e);
  void restart_like_the_kernel(ReplayTask& t, const Event& e);
  bool other_threads_alive(const ReplayTask& t) const;
  bool is_debugged(const ReplayTask& t) const;
  bool ends_debugged_process(const ReplayTask& t, const Event& e) const;
  bool fail_event(const Event& e, const std::string& what);
  std::vector<std::string> read_watched(ReplayTask& t);
  const ReplayTask* focus_state() const;

  std::unique_ptr<TraceReader> reader_;
  // Set while the replayed threads fault on cpuid (recorded so): the
  // switches between them and this thread are then cheap.
  std::unique_ptr<TracerCpuidFaulting> tracer_cpuid_;
  // The replayed processes run under the syscall buffering filter.
  bool filtered_ = false;
  // Processes (recorded tgids) that installed a seccomp filter of their
  // own, or inherited one: only their syscalls can be the ones the filter
  // kills (killed_by_program_filter), whose check reads ahead in the
  // trace. (Kept when a checkpoint is restored: too many only costs time.)
  std::set<int32_t> self_filtered_;
  SegvDispositions segv_dispositions_;  // put back after trapped rdtsc/cpuid (by recorded tgid)
  SharedFileCopies shared_copies_;  // outlives tasks_: declared first
  ReplaySegments segments_;         // SysV shared memory
  TickCounters tick_counters_;  // hardware ticks: every Task points here (outlives them)
  std::map<int32_t, std::unique_ptr<ReplayTask>> tasks_;  // by recorded tid
  std::deque<Event> lookahead_;
  std::map<std::string, std::shared_ptr<const instrument::PatchMap>> patch_maps_;  // by saved name
  std::function<bool()> interrupt_check_;
  RunWatchdog watchdog_;
  uint64_t seq_ = 0;
  uint64_t micros_ = 0;  // of event seq_
  int32_t seq_tid_ = 0;
  EventSummary last_event_;
  bool echo_ = true;
  int echo_fd_ = 0;
  uint64_t echoed_up_to_ = 0;  // the last event whose output was written
  uint32_t echo_crc_[2] = {};  // of the output up to there (Event::echo_crc)
  OutputSink output_sink_;
  std::string error_;

  int32_t focus_ = 0;       // the thread the debugger looks at
  int32_t focus_tgid_ = 0;  // its process: all its threads are debugged
  bool process_ending_ = false;  // it sits at its exit: history ends here
  Trap trap_;
  bool step_ended_ = false;  // the focus's single step ended at an event
  bool watch_hit_ = false;   // a recorded syscall output changed a watch
  Breakpoints breakpoints_;
  DisplacedSteps displaced_{false};  // set up once the trace's header is read
  std::vector<Watchpoint> watchpoints_;
  FdTables fds_;
};

}  // namespace rrx
