// Which thread of a group runs user code, and for how long: tick slices
// (--chaos randomises them) and, for threads that count no ticks, the
// wall-clock last resort. See recorder.h.
#include "record/recorder.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "core/signal_class.h"
#include "core/stack_fingerprint.h"
#include "core/tick_counter.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {

void Recorder::start_if_ready(RecordTask& t) {
  if (t.started && t.announced && !stop_at_start_for_tracer(t)) resume_task(t);
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
// Hardware ticks count every program, from its first branch; their slice
// ends a few branches late, wherever the interrupt lands.
void Recorder::run_user_code(RecordTask& t, int sig) {
  ThreadGroup& group = groups_[group_of(t)];
  group.running = t.task->tid();
  group.running_since = std::chrono::steady_clock::now();
  if (t.ptrace.step_pending) {  // its tracer's PTRACE_SINGLESTEP (emulated_ptrace.cc)
    t.ptrace.step_pending = false;
    t.ptrace.stepping = true;
    t.task->single_step(sig);
    return;
  }
  if (hw_ticks_ || soft_ticks_) {
    bool others = false;
    for (auto& [tid, other] : tasks_) others |= group_of(other) == group_of(t) && tid != t.task->tid();
    // Chaos: slices log-uniform in 1..4000 ticks: preemption lands almost
    // anywhere, and now and then a thread gets far before the next switch.
    uint64_t slice = slice_ticks_;
    if (chaos_) {
      std::uniform_real_distribution<double> exponent(0, std::log(4000.0));
      slice = static_cast<uint64_t>(std::exp(exponent(random_)));
    }
    arm_tick_slice(*t.task, others ? slice : 0);
  }
  // Buffering: the seccomp filter decides which syscalls stop.
  if (buffering_) {
    t.task->cont(sig);
  } else {
    t.task->resume(sig);
  }
}

// At the tick counter's interrupt (signal `sig`): the running thread's
// slice is over. If another thread of its process waits, record the switch
// point and let it run; else go on. Returns false if this was not the
// counter's interrupt. A late (hardware) interrupt can stop the thread in a
// tick stub of hw-sim's counting: the point is then moved on to the next
// program instruction, where replay's breakpoint can find it.
bool Recorder::preempt(RecordTask& t, int sig) {
  if (!take_tick_interrupt(*t.task, sig)) return false;
  ThreadGroup& group = groups_[group_of(t)];
  if (group.waiting.empty()) {
    resume_task(t);
    return true;
  }
  Event event;
  t.task->get_regs(&event.regs);
  if (!tick_interrupts_exact(*t.task) && instrumenter_ &&
      instrumenter_->in_glue(t.tgid, event.regs.rip)) {
    step_out_of_glue(t, &event.regs);
    if (!error_.empty()) return true;
  }
  flush_buffer(t);
  event.tid = t.task->tid();
  event.kind = EventKind::kSchedule;
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

// Sends kPreemptSignal to every running thread that has had its
// wall-clock slice and keeps a thread of its group waiting: the backstop
// for threads that count no ticks, or too few (long branch-free code) for
// their tick slice to end in good time.
void Recorder::check_wall_clock_slices() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [key, group] : groups_) {
    if (!group.running || group.waiting.empty() || now - group.running_since < kWallClockSlice) {
      continue;
    }
    auto it = tasks_.find(group.running);
    if (it == tasks_.end()) continue;
    RecordTask& r = it->second;
    if (r.preempt_sent) continue;
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
  Registers regs;
  t.task->get_regs(&regs);
  // Points in the buffering code are not found again in replay; the next
  // check tries again.
  if (group.waiting.empty() || buffer_locked(t) || in_buffer_code(t, regs.rip)) {
    resume_task(t);
    return;
  }
  if (instrumenter_ && instrumenter_->in_glue(t.tgid, regs.rip)) {
    step_out_of_glue(t, &regs);
    if (!error_.empty()) return;
    if (in_buffer_code(t, regs.rip)) {  // a syscall stub called the engine
      resume_task(t);
      return;
    }
  }
  if (!(t.have_exit_regs && diff_registers(t.exit_regs, regs).empty())) {
    flush_buffer(t);
    Event event;
    event.tid = t.task->tid();
    event.kind = EventKind::kSchedule;
    event.regs = regs;
    // With ticks the count names the point exactly; the stack fingerprint
    // (never 0 here) tells replay this is not a counter trap.
    event.ticks = soft_ticks_ ? read_ticks(*t.task) : 0;
    event.stack_hash = stack_fingerprint(*t.task, regs.rsp) | 1;
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

}  // namespace rrx
