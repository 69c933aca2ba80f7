#include "record/record_session.h"

#include <asm/prctl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "core/cpu_binding.h"
#include "core/exec_setup.h"
#include "core/instruction.h"
#include "core/proc_maps.h"
#include "core/registers.h"
#include "core/remote_syscall.h"
#include "core/spawn.h"
#include "core/stack_fingerprint.h"
#include "core/stop.h"
#include "core/task.h"
#include "core/tick_counter.h"
#include "core/tracee_fd.h"
#include "preload/syscallbuf_abi.h"
#include "record/output_capture.h"
#include "core/signal_class.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_writer.h"

namespace rrx {

namespace {

// Per-thread recording state.
struct RecordTask {
  std::unique_ptr<Task> task;
  pid_t tgid = 0;  // thread group (process) it belongs to
  StopKind stop_kind = StopKind::kGroupStop;  // its current stop
  // The syscall the thread is inside, between its entry and exit stops.
  const SyscallDesc* desc = nullptr;
  SyscallCall call;
  int deny_errno = 0;       // non-zero: we made this syscall fail
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
        soft_ticks_(options.ticks == "soft"),
        buffering_(!options.preload.empty()),
        random_(std::random_device{}()) {}

  RecordResult run(const RecordOptions& options);

 private:
  void handle(RecordTask& t, const Stop& stop);
  void on_syscall_entry(RecordTask& t);
  void on_syscall_exit(RecordTask& t);
  void on_exec(RecordTask& t);
  void on_new_task(RecordTask& t, const Stop& stop);
  void on_signal(RecordTask& t, int sig);
  void on_exited(RecordTask& t, int status);
  void start_if_ready(RecordTask& t);
  void resume_task(RecordTask& t, int sig = 0);
  void schedule(pid_t tgid);
  void run_user_code(RecordTask& t, int sig);
  // Threads that share memory are scheduled together: those of a process,
  // or every traced thread once some process mapped memory shared and
  // writable (a fork passes it on).
  pid_t group_of(const RecordTask& t) const { return shared_memory_ ? 0 : t.tgid; }
  void start_sharing_memory();
  bool preempt(RecordTask& t);
  void start_slice_timer();
  void stop_slice_timer();
  void check_wall_clock_slices();
  void warn_about_held_signals();
  void wall_clock_preempt(RecordTask& t);
  void emit(Event& event);
  void flush_buffer(RecordTask& t, bool at_notify = false);
  bool buffer_locked(RecordTask& t);
  void set_buffer_notify(RecordTask& t, bool on);
  void hold_signal(RecordTask& t, const siginfo_t& info);
  ExecSetup exec_setup() const;
  void fail(const std::string& message);

  std::unique_ptr<TraceWriter> writer_;
  std::map<pid_t, RecordTask> tasks_;
  std::map<pid_t, ThreadGroup> groups_;  // by tgid
  pid_t root_ = 0;
  int root_status_ = 0;
  uint64_t seq_ = 0;
  std::string error_;
  OutputSinks sinks_;
  std::set<std::string> warned_;
  const bool cpuid_faulting_ = cpuid_faulting_available();
  const bool chaos_;
  const uint64_t slice_ticks_;
  const bool soft_ticks_;
  const bool buffering_;
  bool shared_memory_ = false;
  std::mt19937_64 random_;
  timer_t slice_timer_ = {};
  bool slice_timer_armed_ = false;
};

void Recorder::fail(const std::string& message) {
  if (error_.empty()) error_ = message;
}

ExecSetup Recorder::exec_setup() const {
  ExecSetup setup;
  setup.cpuid_faulting = cpuid_faulting_;
  setup.soft_ticks = soft_ticks_;
  setup.preload_mode = buffering_ ? RRX_MODE_RECORD : RRX_MODE_OFF;
  setup.sinks = sinks_.stats();
  return setup;
}

bool Recorder::buffer_locked(RecordTask& t) {
  uint8_t locked = 0;
  return t.buffer &&
         t.task->read_mem(t.buffer + offsetof(rrx_buffer_hdr, locked), &locked, 1) && locked;
}

void Recorder::set_buffer_notify(RecordTask& t, bool on) {
  uint8_t notify = on;
  if (t.buffer) t.task->write_mem(t.buffer + offsetof(rrx_buffer_hdr, notify), &notify, 1);
}

// Keeps an asynchronous signal from `t` until its next syscall exit, traced
// or buffered (the notify flag makes the preload library stop after its
// next buffered call), and lets it go on.
void Recorder::hold_signal(RecordTask& t, const siginfo_t& info) {
  if (t.deferred.empty()) t.deferred_since = std::chrono::steady_clock::now();
  t.deferred.push_back(info);
  set_buffer_notify(t, true);
  resume_task(t);
}

// Moves the syscalls `t` ran in-process since its last event into the
// trace, just before the event of this stop: replay writes them back into
// its buffer before running it to that event. `at_notify`: this stop is the
// preload library's notify call, which replay must make once the records
// are used up.
void Recorder::flush_buffer(RecordTask& t, bool at_notify) {
  rrx_buffer_hdr hdr;
  if (!t.buffer || !t.task->read_mem(t.buffer, &hdr, sizeof hdr) || hdr.locked || hdr.used == 0) {
    return;
  }
  if (hdr.used > RRX_BUFFER_DATA_CAP) {
    fail("thread " + std::to_string(t.task->tid()) + " corrupted its syscall buffer");
    return;
  }
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kBufferFlush;
  MemWrite records;
  records.addr = t.buffer + RRX_BUFFER_DATA_OFF;
  records.data.resize(hdr.used);
  if (!t.task->read_mem(records.addr, records.data.data(), hdr.used)) {
    fail("cannot read the syscall buffer of thread " + std::to_string(t.task->tid()));
    return;
  }
  // The header replay starts from: all records to take, none taken.
  rrx_buffer_hdr replay = {};
  replay.used = hdr.used;
  replay.notify = at_notify;
  MemWrite header;
  header.addr = t.buffer;
  header.data.assign(reinterpret_cast<const char*>(&replay), offsetof(rrx_buffer_hdr, saved_rsp));
  event.writes.push_back(std::move(records));
  event.writes.push_back(std::move(header));
  emit(event);
  uint32_t used = 0;
  t.task->write_mem(t.buffer + offsetof(rrx_buffer_hdr, used), &used, sizeof used);
}

void Recorder::emit(Event& event) {
  event.seq = ++seq_;
  std::string err;
  if (!writer_->append(event, &err)) fail(err);
}

RecordResult Recorder::run(const RecordOptions& options) {
  RecordResult result;
  std::string path = find_program(options.argv[0]);
  if (path.empty()) {
    result.error = "cannot find program '" + options.argv[0] + "'";
    return result;
  }
  SpawnOptions spawn;
  spawn.path = path;
  spawn.argv = options.argv;
  spawn.preload = options.preload;
  spawn.syscall_filter = !options.preload.empty();
  int cpu = options.unbound ? -1 : bind_to_cpu(-1);
  pid_t pid = spawn_traced(spawn, &result.error);
  if (pid < 0) return result;
  root_ = pid;

  TraceHeader header;
  header.argv = options.argv;
  char cwd[4096];
  header.cwd = getcwd(cwd, sizeof cwd) ? cwd : "";
  header.root_tid = pid;
  header.cpuid_faulting = cpuid_faulting_;
  header.ticks = soft_ticks_ ? "soft" : "none";
  header.bound_cpu = cpu;
  header.cpu_signature = cpu_signature();
  header.syscall_buffer = buffering_;
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    struct rlimit lim;
    getrlimit(static_cast<__rlimit_resource>(r), &lim);
    header.rlimit_cur.push_back(lim.rlim_cur);
    header.rlimit_max.push_back(lim.rlim_max);
  }

  RecordTask& root = tasks_[pid];
  root.task = std::make_unique<Task>(pid);
  root.tgid = pid;
  root.announced = root.started = true;

  bool header_written = false;
  start_slice_timer();
  while (!tasks_.empty() && error_.empty()) {
    int status;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0 && errno == EINTR) {  // the slice timer
      check_wall_clock_slices();
      warn_about_held_signals();
      continue;
    }
    if (tid < 0) break;
    auto it = tasks_.find(tid);
    if (it == tasks_.end()) {
      // A new thread stopped before its parent's fork event: hold it.
      RecordTask& t = tasks_[tid];
      t.task = std::make_unique<Task>(tid);
      t.started = true;
      continue;
    }
    RecordTask& t = it->second;
    Stop stop = decode_stop(tid, status);
    if (!header_written && tid == root_) {
      if (stop.kind != StopKind::kExec) {
        result.error = "cannot execute '" + options.argv[0] + "'";
        return result;
      }
      std::string exe_path = "/proc/" + std::to_string(pid) + "/exe";
      struct stat st;
      if (stat(exe_path.c_str(), &st) == 0) {
        header.exe_saved_name = save_mapped_source(exe_path, st, *writer_, &result.error);
      }
      if (header.exe_saved_name.empty() || !writer_->write_header(header, &result.error)) {
        if (result.error.empty()) result.error = "cannot save '" + options.argv[0] + "'";
        kill_tracee(pid);
        return result;
      }
      header_written = true;
    }
    t.stop_kind = stop.kind;
    pid_t key = group_of(t);
    ThreadGroup& group = groups_[key];
    if (group.running == tid) group.running = 0;
    handle(t, stop);
    schedule(shared_memory_ ? 0 : key);
  }

  stop_slice_timer();
  if (!error_.empty()) {
    // Leave no tracee behind; the trace has no completeness marker.
    std::vector<pid_t> tids;
    for (auto& [tid, t] : tasks_) tids.push_back(tid);
    kill_tracees(tids);
    result.error = error_;
    return result;
  }
  TraceSummary summary;
  summary.event_count = seq_;
  summary.exit_status = root_status_;
  if (!writer_->finish(summary, &result.error)) return result;
  result.ok = true;
  result.wait_status = root_status_;
  return result;
}

void Recorder::handle(RecordTask& t, const Stop& stop) {
  switch (stop.kind) {
    case StopKind::kSyscallEntry: on_syscall_entry(t); break;
    case StopKind::kSyscallExit: on_syscall_exit(t); break;
    case StopKind::kExec: on_exec(t); break;
    case StopKind::kNewTask: on_new_task(t, stop); break;
    case StopKind::kSignal: on_signal(t, stop.sig); break;
    case StopKind::kExited: on_exited(t, stop.status); break;
    case StopKind::kGroupStop:
      if (!t.started) {
        t.started = true;
        start_if_ready(t);
        return;
      }
      resume_task(t);
      break;
    case StopKind::kVforkDone:
    case StopKind::kExiting:
      resume_task(t);
      break;
  }
}

void Recorder::start_if_ready(RecordTask& t) {
  if (t.started && t.announced) resume_task(t);
}

void Recorder::resume_task(RecordTask& t, int sig) {
  bool into_kernel = t.stop_kind == StopKind::kSyscallEntry || t.stop_kind == StopKind::kExec ||
                     t.stop_kind == StopKind::kNewTask || t.stop_kind == StopKind::kExiting ||
                     t.stop_kind == StopKind::kVforkDone;
  if (into_kernel) {
    t.task->resume(sig);  // on to the syscall's exit stop
    return;
  }
  ThreadGroup& group = groups_[group_of(t)];
  if (group.exiting == 0 && (group.running == 0 || group.running == t.task->tid())) {
    run_user_code(t, sig);
  } else {
    group.waiting.emplace_back(t.task->tid(), sig);
  }
}

void Recorder::start_sharing_memory() {
  if (shared_memory_) return;
  shared_memory_ = true;
  ThreadGroup all;
  for (auto& [key, group] : groups_) {
    all.waiting.insert(all.waiting.end(), group.waiting.begin(), group.waiting.end());
    if (group.exiting) all.exiting = group.exiting;
  }
  groups_.clear();
  groups_[0] = std::move(all);
}

// Resumes `t` into user code as its process's running thread. In a
// soft-tick program with other threads, the tick counter's target ends its
// slice (the process's threads share the counter: only one runs at a time).
void Recorder::run_user_code(RecordTask& t, int sig) {
  ThreadGroup& group = groups_[group_of(t)];
  group.running = t.task->tid();
  group.running_since = std::chrono::steady_clock::now();
  uint64_t ticks = soft_ticks_ ? read_ticks(*t.task) : 0;
  if (ticks > 0) {
    bool others = false;
    for (auto& [tid, other] : tasks_) others |= group_of(other) == group_of(t) && tid != t.task->tid();
    // Chaos: slices log-uniform in 1..4000 ticks: preemption lands almost
    // anywhere, and now and then a thread gets far before the next switch.
    uint64_t slice = slice_ticks_;
    if (chaos_) {
      std::uniform_real_distribution<double> exponent(0, std::log(4000.0));
      slice = static_cast<uint64_t>(std::exp(exponent(random_)));
    }
    set_tick_target(*t.task, others ? ticks + slice : UINT64_MAX);
  }
  // Buffering: the seccomp filter decides which syscalls stop.
  if (buffering_) {
    t.task->cont(sig);
  } else {
    t.task->resume(sig);
  }
}

// At the tick counter's trap: the running thread's slice is over. If
// another thread of its process waits, record the switch point and let it
// run; else go on. Returns false if this was not the counter's trap.
bool Recorder::preempt(RecordTask& t) {
  if (!take_tick_trap(*t.task)) return false;
  ThreadGroup& group = groups_[group_of(t)];
  if (group.waiting.empty()) {
    resume_task(t);
    return true;
  }
  flush_buffer(t);
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSchedule;
  t.task->get_regs(&event.regs);
  event.ticks = read_ticks(*t.task);
  emit(event);
  group.waiting.emplace_back(t.task->tid(), 0);  // schedule() picks the next
  return true;
}

// A periodic timer signal to this thread interrupts the wait for tracee
// stops, so slices can end (SIGALRM with no SA_RESTART).
void Recorder::start_slice_timer() {
  struct sigaction action = {};
  action.sa_handler = [](int) {};
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, nullptr);
  struct sigevent event = {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = SIGALRM;
  event._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &event, &slice_timer_) != 0) return;
  struct itimerspec every = {{0, kSliceCheckNs}, {0, kSliceCheckNs}};
  slice_timer_armed_ = timer_settime(slice_timer_, 0, &every, nullptr) == 0;
}

void Recorder::stop_slice_timer() {
  if (slice_timer_armed_) timer_delete(slice_timer_);
  slice_timer_armed_ = false;
  signal(SIGALRM, SIG_DFL);
}

// Says once per thread when a signal has been held for long: without ticks
// it waits for the thread's next syscall, which a program spinning until
// the signal arrives never makes.
void Recorder::warn_about_held_signals() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [tid, t] : tasks_) {
    if (t.deferred.empty() || t.warned_held || now - t.deferred_since < kHeldSignalWarning) {
      continue;
    }
    t.warned_held = true;
    fprintf(stderr,
            "rrx: warning: SIG%s for thread %d has waited %lld s for the thread's next "
            "syscall: it runs without syscalls and counts no ticks (build it with the rrx "
            "GCC plugin to deliver signals anywhere)\n",
            sigabbrev_np(t.deferred.front().si_signo), tid,
            static_cast<long long>(kHeldSignalWarning.count()));
  }
}

// Sends kPreemptSignal to every running thread that counts no ticks, has
// had its wall-clock slice, and keeps a thread of its group waiting.
void Recorder::check_wall_clock_slices() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [key, group] : groups_) {
    if (!group.running || group.waiting.empty() || now - group.running_since < kWallClockSlice) {
      continue;
    }
    auto it = tasks_.find(group.running);
    if (it == tasks_.end()) continue;
    RecordTask& r = it->second;
    if (r.preempt_sent || (soft_ticks_ && read_ticks(*r.task) > 0)) continue;
    syscall(SYS_tgkill, r.tgid, r.task->tid(), kPreemptSignal);
    r.preempt_sent = true;
  }
}

// Our signal stopped `t`: its slice is over. The signal is dropped. Right
// after an event the switch needs no event of its own (replay resumes a
// thread only for its next event); elsewhere a schedule event names the
// point by registers and stack top. Inside the buffering code it cannot be
// named: the thread goes on and gets another signal later.
void Recorder::wall_clock_preempt(RecordTask& t) {
  t.preempt_sent = false;
  ThreadGroup& group = groups_[group_of(t)];
  if (group.waiting.empty() || buffer_locked(t)) {
    resume_task(t);
    return;
  }
  Registers regs;
  t.task->get_regs(&regs);
  if (!(t.have_exit_regs && diff_registers(t.exit_regs, regs).empty())) {
    flush_buffer(t);
    Event event;
    event.tid = t.task->tid();
    event.kind = EventKind::kSchedule;
    event.regs = regs;
    event.stack_hash = stack_fingerprint(*t.task, regs.rsp);
    emit(event);
    t.have_exit_regs = false;
  }
  group.waiting.emplace_back(t.task->tid(), 0);  // schedule() picks the next
}

void Recorder::schedule(pid_t tgid) {
  ThreadGroup& group = groups_[tgid];
  while (group.running == 0 && group.exiting == 0 && !group.waiting.empty()) {
    size_t pick = chaos_ ? random_() % group.waiting.size() : 0;
    auto [tid, sig] = group.waiting[pick];
    group.waiting.erase(group.waiting.begin() + static_cast<long>(pick));
    if (!tasks_.count(tid)) continue;
    run_user_code(tasks_[tid], sig);
  }
}

void Recorder::on_syscall_entry(RecordTask& t) {
  Registers regs;
  t.task->get_regs(&regs);
  int nr = static_cast<int>(regs.orig_rax);
  const SyscallDesc* desc = syscall_lookup(nr);
  if (!desc || desc->record == RecordPolicy::kUnsupported) {
    fail("unsupported syscall " + syscall_name(nr) + " (" + std::to_string(nr) +
         ") in process " + std::to_string(t.task->tid()) + "; recording stopped");
    return;
  }
  t.desc = desc;
  t.call = SyscallCall{};
  t.call.number = nr;
  uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  memcpy(t.call.args, args, sizeof args);
  flush_buffer(t, nr == RRX_CALL_NOTIFY);
  if (nr == RRX_CALL_INIT_BUFFER && buffering_) t.buffer = args[0];
  t.deny_errno = 0;
  if (desc->record == RecordPolicy::kDenyENOSYS) {
    t.deny_errno = ENOSYS;
    if (warned_.insert(desc->name).second && strcmp(desc->name, "rseq") != 0) {
      fprintf(stderr, "rrx: warning: %s is not supported; the program got ENOSYS\n", desc->name);
    }
  } else if (desc->at_entry) {
    EntryVerdict verdict = desc->at_entry(t.call, *t.task);
    if (verdict.kind == EntryVerdict::kUnsupported) {
      fail("unsupported " + verdict.what + " in process " + std::to_string(t.task->tid()) +
           "; recording stopped");
      return;
    }
    if (verdict.kind == EntryVerdict::kDeny) t.deny_errno = verdict.error;
  }
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSyscallEntry;
  event.regs = regs;
  event.syscall_no = nr;
  emit(event);

  if (t.deny_errno) {
    regs.orig_rax = static_cast<uint64_t>(-1);  // the kernel skips it
    t.task->set_regs(regs);
  }
  if (nr == SYS_exit) groups_[group_of(t)].exiting = t.task->tid();
  resume_task(t);
}

void Recorder::on_syscall_exit(RecordTask& t) {
  Registers regs;
  t.task->get_regs(&regs);
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSyscallExit;

  if (t.exec_exit_pending) {
    // The new image has run no instruction yet.
    t.exec_exit_pending = false;
    std::string err;
    if (!setup_at_exec_exit(*t.task, exec_setup(), &err)) {
      fail("process " + std::to_string(t.task->tid()) + ": " + err);
      return;
    }
    event.syscall_no = t.desc ? t.call.number : SYS_execve;
  } else if (t.desc) {
    event.syscall_no = t.call.number;
    if (t.deny_errno) {
      regs.rax = static_cast<uint64_t>(-t.deny_errno);
      regs.orig_rax = t.call.number;
      t.task->set_regs(regs);
    }
    t.call.result = static_cast<int64_t>(regs.rax);
    std::vector<MemRegion> regions;
    if (t.desc->outputs && !t.deny_errno) t.desc->outputs(t.call, *t.task, regions);
    for (const MemRegion& r : regions) {
      MemWrite w;
      w.addr = r.addr;
      w.data.resize(r.len);
      if (t.task->read_mem(r.addr, w.data.data(), r.len)) event.writes.push_back(std::move(w));
    }
    capture_fd_write(*t.task, *t.desc, t.call, sinks_, &event);
    if (t.desc->replay == ReplayAction::kMmap && !is_syscall_error(regs.rax) &&
        (t.call.args[3] & MAP_SHARED) && (t.call.args[2] & PROT_WRITE)) {
      start_sharing_memory();
    }
    if (t.desc->replay == ReplayAction::kMmap && !t.deny_errno) {
      std::string err;
      if (!capture_mapped_file(*t.task, t.call, *writer_, &event, &err)) {
        fail(err);
        return;
      }
    }
  } else {
    // A syscall exit with no entry we saw: only the first exec can be one.
    event.syscall_no = static_cast<int>(regs.orig_rax);
  }
  event.regs = regs;
  emit(event);
  t.desc = nullptr;
  t.have_exit_regs = true;
  t.exit_regs = regs;

  int sig = 0;
  if (!t.deferred.empty()) {
    // Resuming a syscall-exit stop with a signal queues it; it is delivered
    // before the thread runs another instruction (see on_signal).
    sig = t.deferred.front().si_signo;
    t.delivering_deferred = true;
  }
  resume_task(t, sig);
}

void Recorder::on_exec(RecordTask& t) {
  pid_t tid = t.task->tid();
  std::string err;
  // First: it reopens the memory of the new image, read below.
  if (!setup_at_exec_event(*t.task, &err)) {
    fail("process " + std::to_string(tid) + ": " + err);
    return;
  }
  t.buffer = 0;  // gone with the old image
  Event event;
  event.tid = tid;
  event.kind = EventKind::kExec;
  t.task->get_regs(&event.regs);

  std::string exe_path = "/proc/" + std::to_string(tid) + "/exe";
  struct stat st;
  if (stat(exe_path.c_str(), &st) != 0) {
    fail("cannot stat the executable of process " + std::to_string(tid));
    return;
  }
  event.exe_saved_name = save_mapped_source(exe_path, st, *writer_, &err);
  if (event.exe_saved_name.empty()) {
    fail(err);
    return;
  }
  // The kernel wrote argv, envp, auxv and AT_RANDOM onto the new stack.
  auto stack = find_named_mapping(tid, "[stack]");
  if (!stack) {
    fail("process " + std::to_string(tid) + " has no stack after exec");
    return;
  }
  MemWrite initial_stack;
  initial_stack.addr = event.regs.rsp;
  initial_stack.data.resize(stack->end - event.regs.rsp);
  t.task->read_mem(initial_stack.addr, initial_stack.data.data(), initial_stack.data.size());
  event.writes.push_back(std::move(initial_stack));
  emit(event);
  t.exec_exit_pending = true;
  resume_task(t);
}

void Recorder::on_new_task(RecordTask& t, const Stop& stop) {
  pid_t child = static_cast<pid_t>(t.task->event_msg());
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kNewTask;
  t.task->get_regs(&event.regs);
  event.new_tid = child;
  if (stop.event == PTRACE_EVENT_VFORK) {
    event.clone_flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  } else if (t.desc && t.call.number == SYS_clone) {
    event.clone_flags = t.call.args[0];
  } else if (t.desc && t.call.number == SYS_clone3) {
    t.task->read_mem(t.call.args[0], &event.clone_flags, sizeof event.clone_flags);
  } else {
    event.clone_flags = SIGCHLD;
  }
  emit(event);

  RecordTask& c = tasks_[child];
  if (!c.task) c.task = std::make_unique<Task>(child);
  c.tgid = (event.clone_flags & CLONE_THREAD) ? t.tgid : child;
  // A forked child runs on a copy of the parent thread's TLS, so it uses
  // the copy of its buffer (vfork: the buffer itself); a thread gets its own.
  c.buffer = (event.clone_flags & CLONE_THREAD) ? 0 : t.buffer;
  c.announced = true;
  start_if_ready(c);
  resume_task(t);
}

void Recorder::on_signal(RecordTask& t, int sig) {
  siginfo_t info;
  if (!t.task->get_siginfo(&info)) {
    resume_task(t);
    return;
  }
  Registers regs;
  t.task->get_regs(&regs);

  if (sig == SIGTRAP && info.si_code == SI_KERNEL && preempt(t)) return;
  if (sig == kPreemptSignal && info.si_code == SI_TKILL && info.si_pid == getpid()) {
    wall_clock_preempt(t);
    return;
  }
  if (sig == SIGSEGV && info.si_code == SI_KERNEL) {
    InsnResult insn = decode_trapped_insn(*t.task, regs);
    if (insn.insn != TrappedInsn::kNone) {
      emulate_trapped_insn(regs, &insn);
      flush_buffer(t);
      Event event;
      event.tid = t.task->tid();
      event.kind = EventKind::kInstruction;
      event.regs = regs;
      event.values[0] = insn.rax;
      event.values[1] = insn.rbx;
      event.values[2] = insn.rcx;
      event.values[3] = insn.rdx;
      event.insn_len = insn.length;
      emit(event);
      apply_trapped_insn(insn, &regs);
      t.task->set_regs(regs);
      resume_task(t);
      return;
    }
  }

  bool synchronous = is_synchronous_signal(info);
  uint64_t mid_computation_ticks = 0;
  if (t.delivering_deferred && sig == t.deferred.front().si_signo) {
    info = t.deferred.front();
    t.deferred.pop_front();
    t.delivering_deferred = false;
    t.task->set_siginfo(info);
    if (t.deferred.empty()) {
      set_buffer_notify(t, false);
      t.warned_held = false;
    }
  } else if (!synchronous && buffer_locked(t)) {
    // Inside the buffering code, whose steps differ in replay: hold the
    // signal until the preload library's notify call (syscallbuf_abi.h).
    hold_signal(t, info);
    return;
  } else if (!synchronous &&
             !(t.have_exit_regs && diff_registers(t.exit_regs, regs).empty())) {
    // Arrived mid-computation. A program counting soft ticks names this
    // point exactly (tick count + registers); otherwise replay could not
    // find it again, so deliver it at the thread's next syscall exit.
    mid_computation_ticks = soft_ticks_ ? read_ticks(*t.task) : 0;
    if (mid_computation_ticks == 0) {
      hold_signal(t, info);
      return;
    }
  }
  flush_buffer(t);

  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSignal;
  event.regs = regs;
  event.signo = sig;
  event.siginfo.assign(reinterpret_cast<const char*>(&info), sizeof info);
  event.deterministic = synchronous;
  event.ticks = mid_computation_ticks;
  emit(event);
  t.have_exit_regs = false;
  resume_task(t, sig);
}

void Recorder::on_exited(RecordTask& t, int status) {
  pid_t tid = t.task->tid();
  Event event;
  event.tid = tid;
  event.kind = EventKind::kExit;
  event.exit_status = status;
  emit(event);
  if (tid == root_) root_status_ = status;
  ThreadGroup& group = groups_[group_of(t)];
  if (group.running == tid) group.running = 0;
  if (group.exiting == tid) group.exiting = 0;
  tasks_.erase(tid);
}

}  // namespace

RecordResult record(const RecordOptions& options) {
  RecordResult result;
  auto writer = TraceWriter::create(options.trace_dir, &result.error);
  if (!writer) return result;
  Recorder recorder(std::move(writer), options);
  return recorder.run(options);
}

}  // namespace rrx
