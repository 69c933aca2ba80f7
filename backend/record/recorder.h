// The recorder's insides, shared by its three parts, kept apart the way rr
// keeps RecordSession, Scheduler and record_signal apart:
//   record_session.cc    the event loop, syscalls, exec, fork, exit
//   record_scheduler.cc  which thread runs user code, time slices
//   record_signal.cc     signals: synchronous, asynchronous, held
//   emulated_ptrace.cc   a recorded program's ptrace of recorded threads
// Not a public interface: record_session.h is.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/exec_setup.h"
#include "core/hw_tick_source.h"
#include "core/instruction.h"
#include "core/proc_maps.h"
#include "core/registers.h"
#include "core/stop.h"
#include "core/segv_disposition.h"
#include "core/task.h"
#include "preload/syscallbuf_abi.h"
#include "record/code_instrumenter.h"
#include "record/cpuid_answers.h"
#include "record/emulated_ptrace.h"
#include "record/mapped_data_files.h"
#include "record/sysv_segments.h"
#include "record/output_capture.h"
#include "record/record_session.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_writer.h"

namespace rrx {

// Per-thread recording state.
struct RecordTask {
  std::unique_ptr<Task> task;
  pid_t tgid = 0;  // thread group (process) it belongs to
  StopKind stop_kind = StopKind::kGroupStop;  // its current stop
  // The syscall the thread is inside, between its entry and exit stops.
  const SyscallDesc* desc = nullptr;
  SyscallCall call;
  int deny_errno = 0;       // non-zero: we made this syscall fail
  // EntryVerdict::kUnlessItFails: what to name if the call succeeds.
  std::string unsupported_if_succeeds;
  // The recorder answered this syscall itself (it did not run): its result.
  std::optional<int64_t> emulated_result;
  // Its process's parent process (0: rrx itself).
  pid_t parent_tgid = 0;
  // Its emulated tracer, if a recorded program traces it (emulated_ptrace.h).
  PtraceTracee ptrace;
  // Held at the entry of a wait4/waitid for an emulated tracee until one
  // stops or a real child ends.
  bool held_in_wait = false;
  // A mapped data file's size at the entry of a call that may grow it
  // (mapped_data_files.h), else -1.
  int64_t size_before = -1;
  // 1 or 2: the syscall writes to our stdout/stderr (writes_to_sink).
  int sink = 0;
  // Exec'd: setup_at_exec_exit is due at the execve exit stop.
  bool exec_exit_pending = false;
  // Its syscall buffer (preload/syscallbuf_abi.h), 0 if it has none.
  uint64_t buffer = 0;
  // A new thread's first stop must wait until its parent's fork event is
  // in the trace, so the child's events never precede its creation.
  bool announced = false;
  bool started = false;
  // We sent it kPreemptSignal and have not seen it arrive yet.
  bool preempt_sent = false;
  // Registers at the last syscall exit: an asynchronous signal arriving
  // with exactly these registers is delivered at a syscall boundary.
  bool have_exit_regs = false;
  Registers exit_regs = {};
  // Asynchronous signals that arrived mid-computation, held until the next
  // syscall exit (exact mid-computation delivery needs ticks).
  std::deque<siginfo_t> deferred;
  bool delivering_deferred = false;
  // When the oldest held signal arrived; whether we told the user it waits.
  std::chrono::steady_clock::time_point deferred_since;
  bool warned_held = false;
  // Its process is the init of a pid namespace (signals without a handler
  // act otherwise on it): -1 until its first signal asks.
  int8_t namespace_init = -1;
};

// Threads of one process run user code one at a time, so the order of
// their events is the order of their memory accesses too. A thread
// resumed into the kernel (inside a syscall) does not count.
struct ThreadGroup {
  pid_t running = 0;                           // the thread in user code
  std::deque<std::pair<pid_t, int>> waiting;   // (tid, signal to deliver)
  // A thread inside exit(): the kernel clears its tid in memory (and wakes
  // pthread_join) at a moment of its own, so nobody runs until it is gone.
  pid_t exiting = 0;
  // When `running` got the CPU: programs without ticks get a wall-clock
  // slice.
  std::chrono::steady_clock::time_point running_since;
};

// Threads of programs that count no ticks are preempted after this much
// wall-clock time if another thread of their group waits: a signal of ours
// stops them, and the point is named by registers and the stack top. Replay
// finds it with a breakpoint hit per execution of that instruction since
// the thread's last event, so this is a last resort against spinning
// forever, long enough that threads doing real work switch at syscalls.
constexpr std::chrono::milliseconds kWallClockSlice{250};
constexpr long kSliceCheckNs = 50'000'000;
constexpr int kPreemptSignal = SIGSTKFLT;
constexpr std::chrono::seconds kHeldSignalWarning{2};

class Recorder {
 public:
  Recorder(std::unique_ptr<TraceWriter> writer, const RecordOptions& options)
      : writer_(std::move(writer)),
        chaos_(options.chaos),
        slice_ticks_(options.slice_ticks),
        soft_ticks_(options.ticks != "none"),
        hw_ticks_(is_hw_tick_source(options.ticks)),
        tick_page_(options.ticks != "none" && options.ticks != "hw"),
        dynamic_ticks_(options.ticks == "soft" || options.ticks == "hw-sim"),
        buffering_(options.buffer_syscalls),
        wait_all_(options.wait_all),
        random_(std::random_device{}()) {
    // Buffering reaches the engine through the program's patched syscall
    // sites (syscallbuf_abi.h, THE SITE ENTRY).
    if (dynamic_ticks_ || buffering_) {
      CodeInstrumenter::Options o;
      o.jcc_sites = dynamic_ticks_;
      o.syscall_sites = buffering_;
      instrumenter_ = std::make_unique<CodeInstrumenter>(*writer_, o);
    }
  }

  RecordResult run(const RecordOptions& options);

 private:
  void handle(RecordTask& t, const Stop& stop);
  void on_syscall_entry(RecordTask& t);
  void on_syscall_exit(RecordTask& t);
  void install_program_filter(RecordTask& t, const Registers& regs);
  // The rest of a syscall stop's work, after its event (and a stop for an
  // emulated tracer there): off into the kernel, or back to user code.
  void continue_syscall_entry(RecordTask& t);
  void continue_syscall_exit(RecordTask& t);
  void on_exec(RecordTask& t);
  // A thread other than the leader exec'd (the exec stop came for
  // `leader`'s tid): it goes on as the leader, whose own state is dropped.
  // Returns the exec'ing thread's old tid (`leader`'s if it exec'd itself).
  pid_t take_over_leader(RecordTask& leader);
  void on_new_task(RecordTask& t, const Stop& stop);
  void on_signal(RecordTask& t, int sig);
  void on_exited(RecordTask& t, int status);
  void let_threads_outlive_leader(RecordTask& t);
  void start_if_ready(RecordTask& t);
  void resume_task(RecordTask& t, int sig = 0);
  void schedule(pid_t tgid);
  void run_user_code(RecordTask& t, int sig);
  // Threads that share memory are scheduled together: those of a process,
  // or every traced thread once some process mapped memory shared and
  // writable (a fork passes it on).
  pid_t group_of(const RecordTask& t) const { return shared_memory_ ? 0 : t.tgid; }
  void start_sharing_memory();
  bool preempt(RecordTask& t, int sig);
  void note_ticks(Event& event);
  void start_slice_timer();
  void stop_slice_timer();
  void check_wall_clock_slices();
  void warn_about_held_signals();
  void wall_clock_preempt(RecordTask& t);
  void let_namespace_init_die(RecordTask& t, int sig);
  bool is_namespace_init(RecordTask& t);
  bool alive_threads_besides(const RecordTask& t) const;
  void emit(Event& event);
  void instrument_code(RecordTask& t, uint64_t lo, uint64_t hi);
  void end_sink_write(pid_t tid);
  void step_out_of_glue(RecordTask& t, Registers* regs, bool whole_stub = false);
  void flush_buffer(RecordTask& t, bool at_notify = false);
  bool buffer_locked(RecordTask& t);
  // The engine's code (and the preload page's untraced syscall): it takes
  // other paths in replay, so no asynchronous signal is delivered there,
  // locked or not.
  bool in_buffer_code(const RecordTask&, uint64_t pc) const {
    return buffering_ && pc >= RRX_PRELOAD_PAGE_ADDR && pc < RRX_ENGINE_ADDR + RRX_ENGINE_CODE_SIZE;
  }
  void adopt_buffer(RecordTask& t);
  void give_buffer_if_wanted(RecordTask& t, const Registers& regs, Event* event);
  void take_notify_result(RecordTask& t, Registers* regs);
  void set_buffer_notify(RecordTask& t, bool on);
  // At the exit (`regs`) of a syscall the preload library made on the
  // program's behalf (one it could not buffer: a blocking poll, read...),
  // on the program's stack with the buffer unlocked: a signal may be
  // delivered there, as at any syscall; holding it until the library's
  // next notify call would leave a call that waits for that signal (the
  // self-pipe pattern) waiting for ever.
  bool at_program_call_exit(RecordTask& t, const Registers& regs);
  void hold_signal(RecordTask& t, const siginfo_t& info);
  ExecSetup exec_setup() const;
  void fail(const std::string& message);
  // The processes still running once the initial one exited, told to the
  // user (they are killed: recording ends with the initial process).
  std::vector<int32_t> left_running() const;

  // Emulated ptrace (emulated_ptrace.cc). At a syscall entry (its event
  // written): serves ptrace, and a wait4/waitid for emulated tracees; true
  // if it took the call over (answered or held it).
  bool emulate_for_tracer(RecordTask& t);
  // The program's own PR_SET_TSC / PR_GET_TSC (program_tsc_mode.cc).
  int program_tsc_mode(pid_t tgid) const;
  bool emulate_set_tsc(RecordTask& t);
  void show_program_tsc_mode(RecordTask& t, int64_t result);
  void inherit_tsc_mode(pid_t parent_tgid, pid_t child_tgid);
  // At a signal about to be delivered to `t`, whose event is written with
  // Signal.tracer kStopped: holds it at this stop for its tracer.
  void stop_for_tracer(RecordTask& t, const siginfo_t& info, TracerStop kind = TracerStop::kSignal);
  // At a syscall stop of `t`, its event written: true if it stops there
  // for its tracer (PTRACE_SYSCALL), to go on when the tracer resumes it.
  bool stop_at_syscall_for_tracer(RecordTask& t, TracerStop kind);
  // At rrx's own event stop of `t` (PTRACE_EVENT_FORK ... EXIT): true if
  // it stops there for its tracer (whose options ask for `event`);
  // `message` is what GETEVENTMSG then says.
  bool stop_at_event_for_tracer(RecordTask& t, int event, unsigned long message);
  // `t` is gone: its tracees go free, a wait for it goes to the kernel.
  void ptrace_on_exit(RecordTask& t, int status);
  // At a fork/vfork/clone event of `parent` (PTRACE_EVENT_*): the child of
  // a tracee whose tracer follows those is traced too.
  void inherit_tracer(const RecordTask& parent, RecordTask& child, int event);
  // At the first resume of a new thread: true if it stops for its tracer.
  bool stop_at_start_for_tracer(RecordTask& t);
  void leave_tracer_stop(RecordTask& t, TracerStop stop);
  static siginfo_t event_stop_info(const RecordTask& t, int event);
  // The rest serve the above (emulated_ptrace.cc says what each does).
  int64_t ptrace_request(RecordTask& t);
  int64_t resume_tracee(RecordTask& tracer, RecordTask& tracee, long request, uint64_t sig);
  int64_t step_tracee(RecordTask& tracer, RecordTask& tracee, uint64_t sig);
  void end_tracer_step(RecordTask& t, const siginfo_t& info);
  static Event signal_event(const RecordTask& t, const Registers& regs, const siginfo_t& info);
  void note_proc_mem_write(RecordTask& t, std::vector<MemRegion>* own);
  bool answer_wait(RecordTask& w, const WaitRequest& req);
  void report_to_wait(RecordTask& w, const WaitRequest& req, pid_t tid, int status, int code,
                      int child_status);
  bool wait_matches(const RecordTask& w, const WaitRequest& req, const RecordTask& child);
  void finish_emulated(RecordTask& t, int64_t result);
  void interrupt_real_waits(pid_t tracer);
  void set_all_traced(RecordTask& t, bool on);
  int64_t set_ptrace_options(RecordTask& tracer, RecordTask& tracee, uint64_t options);
  int64_t attach(RecordTask& t, long request);
  void notify_tracer(const RecordTask& tracee);
  // At a signal stop of `t`: a SIGCHLD notify_tracer sent gets the
  // siginfo the kernel would have given it.
  void rewrite_our_sigchld(RecordTask& t, siginfo_t* info);
  void record_tracer_change(RecordTask& tracee, uint64_t addr, const void* data, size_t len);

  std::unique_ptr<TraceWriter> writer_;
  // Dynamic ticks or syscall sites only.
  std::unique_ptr<CodeInstrumenter> instrumenter_;
  MappedDataFiles mapped_files_;
  // Buffering: what trapped cpuids answered, for later processes' engines.
  CpuidAnswers cpuid_answers_;
  // When the recording started: events carry their time since (elapsed-time).
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  RecordedSegments segments_;  // SysV shared memory
  TickCounters tick_counters_;  // hardware ticks: every Task points here (outlives them)
  std::map<pid_t, RecordTask> tasks_;
  std::map<pid_t, ThreadGroup> groups_;  // by tgid
  pid_t root_ = 0;
  int root_status_ = 0;
  uint64_t seq_ = 0;
  std::string error_;
  OutputSinks sinks_;
  uint32_t echo_crc_[2] = {};  // of everything echoed to stdout, stderr
  std::set<std::string> warned_;
  const bool cpuid_faulting_ = cpuid_faulting_available();
  const bool chaos_;
  const uint64_t slice_ticks_;
  const bool soft_ticks_;     // threads count ticks (any source but none)
  const bool hw_ticks_;       // ... with a hardware counter (hw_tick_source.h)
  const bool tick_page_;      // ... through the tick page (soft, or hw-sim's)
  const bool dynamic_ticks_;  // patch uninstrumented code to count
  const bool buffering_;
  // Per process: thread pointer -> syscall buffer, as the engine's own
  // table has them (adopt_buffer).
  std::map<pid_t, std::map<uint64_t, uint64_t>> thread_buffers_;
  // Processes with a seccomp filter of their own: the engine buffers none
  // of their calls (rrx_engine_data.all_traced).
  std::set<pid_t> self_filtered_;
  std::map<pid_t, int> tsc_modes_;  // by tgid: a mode the program set (PR_SET_TSC)
  SegvDispositions segv_dispositions_;  // put back after trapped rdtsc/cpuid
  const bool wait_all_;
  bool root_exited_ = false;
  bool shared_memory_ = false;
  // The thread inside a write to our stdout/stderr, and those held at the
  // entry of one until it is done (record_session.cc, on_syscall_entry).
  pid_t sink_writer_ = 0;
  std::deque<pid_t> held_sink_writes_;
  std::mt19937_64 random_;
  // The SIGCHLD siginfo due to a tracer process, by tgid (notify_tracer).
  std::map<pid_t, siginfo_t> sigchld_sent_;
  std::vector<ExitedTracee> exited_tracees_;  // not yet reported to their tracer
  timer_t slice_timer_ = {};
  bool slice_timer_armed_ = false;
};

}  // namespace rrx
