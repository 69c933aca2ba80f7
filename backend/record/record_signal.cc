// Signals while recording: emulated instructions (rdtsc, cpuid), tick
// traps and our own preemption signal handed to the scheduler, synchronous
// signals recorded as they come, asynchronous ones delivered at a point
// replay can find again (a syscall boundary or a tick count) or held until
// there is one. See recorder.h.
#include "record/recorder.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/proc_status.h"
#include "core/signal_class.h"
#include "core/stack_fingerprint.h"
#include "core/stop.h"
#include "core/tick_counter.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {

bool Recorder::buffer_locked(RecordTask& t) {
  uint8_t locked = 0;
  return t.buffer &&
         t.task->read_mem(t.buffer + offsetof(rrx_buffer_hdr, locked), &locked, 1) && locked;
}

bool Recorder::at_program_call_exit(RecordTask& t, const Registers& regs) {
  int nr = static_cast<int>(regs.orig_rax);
  return t.buffer != 0 && nr != RRX_CALL_MISMATCH && nr >= 0 &&
         !buffer_locked(t);
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

// A `signal` event of `t` for the delivery of `info` at `regs` (the caller
// says whether it is deterministic, its ticks and its tracer).
Event Recorder::signal_event(const RecordTask& t, const Registers& regs, const siginfo_t& info) {
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSignal;
  event.regs = regs;
  event.signo = info.si_signo;
  event.siginfo.assign(reinterpret_cast<const char*>(&info), sizeof info);
  return event;
}

namespace {

// For the init of a pid namespace: it gets no signal it has no handler
// for (but SIGKILL or SIGSTOP, or a fault's, which the kernel forces): the
// kernel drops it as it would be delivered. Global init's signals never
// reach a tracer; a namespace's init, recorded, is traced, so its stops
// show them.
bool dropped_by_namespace_init(pid_t tid, int sig) {
  SignalSets sets;
  return sig != SIGKILL && sig != SIGSTOP && read_signal_sets(tid, &sets) &&
         !(sets.caught & (1ull << (sig - 1)));
}

// For the init of a pid namespace: a fault's signal with no handler (or
// one the fault overrides: blocked or ignored) ends it natively, but not
// while it is traced: the kernel keeps a traced init alive
// (force_sig_info_to_task), and the fault would come back forever.
bool fatal_fault_to_namespace_init(pid_t tid, int sig) {
  SignalSets sets;
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
      return read_signal_sets(tid, &sets) && !(sets.caught & ~sets.blocked & (1ull << (sig - 1)));
    default:
      return false;
  }
}

// Its wait status once it is a zombie (field 52 of /proc/<tid>/stat), or
// `fallback` if that cannot be read.
int exit_status_of_zombie(pid_t tid, int fallback) {
  std::string state, status;
  if (!read_stat_field(tid, 3, &state) || (state != "Z" && state != "X") ||
      !read_stat_field(tid, 52, &status))
    return fallback;
  return std::atoi(status.c_str());
}

}  // namespace

// Read once per thread: what a process is does not change.
bool Recorder::is_namespace_init(RecordTask& t) {
  if (t.namespace_init < 0) {
    SignalSets sets;
    t.namespace_init = read_signal_sets(t.task->tid(), &sets) && sets.pid_namespace_init;
  }
  return t.namespace_init == 1;
}

// The init of a pid namespace took a fault it has no handler for: let it
// go untraced, so that the fault, coming back, ends it as it would
// natively, and record that end.
void Recorder::let_namespace_init_die(RecordTask& t, int sig) {
  pid_t tid = t.task->tid();
  ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
  wait_until_zombie(tid);
  on_exited(t, exit_status_of_zombie(tid, sig));
}

void Recorder::on_signal(RecordTask& t, int sig) {
  siginfo_t info;
  if (!t.task->get_siginfo(&info)) {
    resume_task(t);
    return;
  }
  rewrite_our_sigchld(t, &info);
  if (t.ptrace.stepping) {
    t.ptrace.stepping = false;
    if (sig == SIGTRAP && info.si_code == TRAP_TRACE) {
      end_tracer_step(t, info);
      return;
    }
  }
  Registers regs;
  t.task->get_regs(&regs);

  if ((sig != SIGTRAP || info.si_code == SI_KERNEL) && preempt(t, sig)) return;
  if (sig == kPreemptSignal && info.si_code == SI_TKILL && info.si_pid == getpid()) {
    wall_clock_preempt(t);
    return;
  }
  if (sig == SIGSEGV && info.si_code == SI_KERNEL) {
    InsnResult insn = decode_trapped_insn(*t.task, regs);
    if (insn.insn != TrappedInsn::kNone) {
      emulate_trapped_insn(regs, &insn);
      if (buffering_) cpuid_answers_.learn(regs, insn);
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
      if (!segv_dispositions_.restore_after_trap(t.tgid, t.task->tid(), *t.task)) {
        fail("thread " + std::to_string(t.task->tid()) + ": cannot restore its SIGSEGV action");
        return;
      }
      apply_trapped_insn(insn, &regs);
      t.task->set_regs(regs);
      resume_task(t);
      return;
    }
  }

  bool synchronous = is_synchronous_signal(info);
  if (!synchronous && !t.ptrace.tracer && is_namespace_init(t) &&
      dropped_by_namespace_init(t.task->tid(), sig)) {
    resume_task(t);  // nothing happens: nothing to record
    return;
  }
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
  } else if (!synchronous && (buffer_locked(t) || in_buffer_code(t, regs.rip)) &&
             !(t.have_exit_regs && diff_registers(t.exit_regs, regs).empty() &&
               at_program_call_exit(t, regs))) {
    // Inside the buffering code, whose steps differ in replay: hold the
    // signal until the preload library's notify call (syscallbuf_abi.h).
    // Its code counts no ticks, so outside the locked part too two points
    // there can look the same.
    hold_signal(t, info);
    return;
  } else if (!synchronous &&
             !(t.have_exit_regs && diff_registers(t.exit_regs, regs).empty())) {
    // Arrived mid-computation. A program counting soft ticks names this
    // point exactly (tick count + registers); otherwise replay could not
    // find it again, so deliver it at the thread's next syscall exit.
    if (instrumenter_ && instrumenter_->in_glue(t.tgid, regs.rip)) {
      step_out_of_glue(t, &regs);
      if (!error_.empty()) return;
      // A syscall stub's glue leads into the buffering engine's code.
      if (in_buffer_code(t, regs.rip)) {
        hold_signal(t, info);
        return;
      }
      t.task->set_siginfo(info);  // delivered from the step's stop
    }
    mid_computation_ticks = soft_ticks_ ? read_ticks(*t.task) : 0;
    if (mid_computation_ticks == 0) {
      hold_signal(t, info);
      return;
    }
  }
  flush_buffer(t);

  Event event = signal_event(t, regs, info);
  event.deterministic = synchronous;
  event.ticks = mid_computation_ticks;
  // A recorded program traces this thread: the signal stops it for that
  // tracer instead (emulated_ptrace.h). SIGKILL stops no one.
  if (t.ptrace.tracer && sig != SIGKILL) event.tracer = SignalTracer::kStopped;
  emit(event);
  // Delivered mid-computation, the thread has left the syscall boundary.
  // Delivered there, it stays on it until it runs again: a second signal
  // dequeued right away (the first one ignored, no handler frame) stops it
  // with the exit registers still, and is delivered at the boundary too.
  if (mid_computation_ticks) t.have_exit_regs = false;
  if (event.tracer == SignalTracer::kStopped) {
    stop_for_tracer(t, info);
    return;
  }
  if (synchronous && !alive_threads_besides(t) && is_namespace_init(t) &&
      fatal_fault_to_namespace_init(t.task->tid(), sig)) {
    let_namespace_init_die(t, sig);
    return;
  }
  resume_task(t, sig);
}

bool Recorder::alive_threads_besides(const RecordTask& t) const {
  for (const auto& [tid, other] : tasks_)
    if (other.tgid == t.tgid && tid != t.task->tid()) return true;
  return false;
}

// An asynchronous signal found `t` on instrumentation glue (backend/
// instrument/ stubs): a handler must not run there (it would count through
// the same spill slot) and the point must be one a debugger can be shown.
// Single-steps to the next program instruction (or, from a syscall stub's
// call, into the buffering engine's code; with `whole_stub`, also past
// program instructions relocated into a stub), keeping the signal for
// the caller to deliver there. A counter trap met on the way is passed
// (the slice then ends at the thread's next resume); another signal
// arriving meanwhile is sent again afterwards.
void Recorder::step_out_of_glue(RecordTask& t, Registers* regs, bool whole_stub) {
  std::vector<int> others;
  auto inside = [&] {
    return whole_stub ? instrumenter_->in_stub(t.tgid, regs->rip)
                      : instrumenter_->in_glue(t.tgid, regs->rip);
  };
  for (int steps = 0; steps < 64 && inside(); ++steps) {
    int status;
    if (!t.task->single_step(0) || wait_for(t.task->tid(), &status) != t.task->tid() ||
        !WIFSTOPPED(status)) {
      fail("thread " + std::to_string(t.task->tid()) + " vanished while leaving tick instrumentation");
      return;
    }
    int sig = WSTOPSIG(status);
    if (sig == SIGTRAP) {
      take_tick_trap(*t.task);
    } else if (sig != SIGSTOP && !(status >> 16)) {
      others.push_back(sig);
    }
    t.task->get_regs(regs);
  }
  for (int sig : others) syscall(SYS_tgkill, t.tgid, t.task->tid(), sig);
}

}  // namespace rrx
