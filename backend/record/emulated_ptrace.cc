// Emulated ptrace: the recorder plays the tracer's kernel for a recorded
// program that traces another recorded thread (emulated_ptrace.h). A part
// of the Recorder, like record_signal.cc; see recorder.h.
//
// The tracer's ptrace calls and its waits for a tracee never run: the
// recorder skips them and sets their results, and what they wrote into the
// tracer's memory is recorded as their outputs (syscalls/ptrace_rules.cc),
// so replay just writes it back. What a request changes in the tracee
// (POKEDATA, SETREGS, a signal to deliver) is an event of the tracee.
#include "record/recorder.h"

#include <asm/prctl.h>
#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/proc_status.h"
#include "core/tick_counter.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {

namespace {

// The options a wait4 or waitid call may pass (others: EINVAL, the
// kernel's to say).
constexpr uint64_t kWaitFlags = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL;
constexpr uint64_t kWaitidFlags = kWaitFlags | WEXITED | WNOWAIT;
// The options we emulate: the tracee's own stops and how they read.
constexpr uint32_t kEmulatedOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD |
                                     PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
                                     PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                                     PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORKDONE;

}  // namespace

WaitRequest decode_wait(const SyscallCall& call) {
  WaitRequest req;
  if (call.number == SYS_wait4) {
    int pid = static_cast<int>(call.args[0]);
    if (call.args[2] & ~kWaitFlags || pid == INT_MIN) return req;
    if (pid == -1) {
      req.who = WaitRequest::Who::kAny;
    } else if (pid > 0) {
      req = {WaitRequest::Who::kPid, pid};
    } else {
      req = {WaitRequest::Who::kPgid, -pid};
    }
    req.no_hang = call.args[2] & WNOHANG;
    return req;
  }
  uint64_t options = call.args[3];
  int id = static_cast<int>(call.args[1]);
  if (options & ~kWaitidFlags || !(options & (WEXITED | WSTOPPED | WCONTINUED))) return req;
  switch (call.args[0]) {
    case P_ALL: req.who = WaitRequest::Who::kAny; break;
    case P_PID:
      if (id <= 0) return req;
      req = {WaitRequest::Who::kPid, id};
      break;
    case P_PGID:
      if (id < 0) return req;
      req = {WaitRequest::Who::kPgid, id};
      break;
    default: return req;  // P_PIDFD and unknown types
  }
  req.no_hang = options & WNOHANG;
  req.no_wait = options & WNOWAIT;
  req.waitid = true;
  return req;
}

bool Recorder::wait_matches(const RecordTask& w, const WaitRequest& req, const RecordTask& child) {
  if (child.ptrace.tracer != w.tgid) return false;
  pid_t tid = child.task->tid();
  switch (req.who) {
    case WaitRequest::Who::kAny: return true;
    case WaitRequest::Who::kPid: return tid == req.id;
    case WaitRequest::Who::kPgid:
      return getpgid(tid) == (req.id ? req.id : getpgid(w.task->tid()));
    case WaitRequest::Who::kOther: return false;
  }
  return false;
}

// The syscall `t` sits at the entry of is answered by the recorder with
// `result`: the kernel skips it, the exit stop gets the result.
void Recorder::finish_emulated(RecordTask& t, int64_t result) {
  Registers regs;
  t.task->get_regs(&regs);
  regs.orig_rax = static_cast<uint64_t>(-1);
  t.task->set_regs(regs);
  t.emulated_result = result;
  t.held_in_wait = false;
  resume_task(t);
}

namespace {

// Whether an ended tracee is one `req` (of the tracer) waits for.
bool waits_for_exited(const WaitRequest& req, const ExitedTracee& gone) {
  return req.who == WaitRequest::Who::kAny ||
         (req.who == WaitRequest::Who::kPid && req.id == gone.tid);
}

}  // namespace

// Ends `w`'s wait as the kernel would report `tid`: wait4 with its wait
// status, waitid with a SIGCHLD siginfo of `code` and `child_status`.
void Recorder::report_to_wait(RecordTask& w, const WaitRequest& req, pid_t tid, int status,
                              int code, int child_status) {
  const uint64_t* a = w.call.args;
  struct rusage usage = {};  // not measured: the tracee's own is the kernel's
  bool ok;
  int64_t result = tid;
  if (req.waitid) {
    siginfo_t info = {};
    info.si_signo = SIGCHLD;
    info.si_code = code;
    info.si_pid = tid;
    info.si_uid = getuid();
    info.si_status = child_status;
    ok = (!a[2] || w.task->write_mem(a[2], &info, sizeof info)) &&
         (!a[4] || w.task->write_mem(a[4], &usage, sizeof usage));
    result = 0;
  } else {
    ok = (!a[1] || w.task->write_mem(a[1], &status, sizeof status)) &&
         (!a[3] || w.task->write_mem(a[3], &usage, sizeof usage));
  }
  finish_emulated(w, ok ? result : -EFAULT);
}

// Answers `w`'s wait with the end of a tracee the kernel does not report
// to it, or the first unreported stop of a tracee it waits for; false if
// there is none.
bool Recorder::answer_wait(RecordTask& w, const WaitRequest& req) {
  for (auto it = exited_tracees_.begin(); it != exited_tracees_.end(); ++it) {
    if (it->tracer != w.tgid || !waits_for_exited(req, *it)) continue;
    ExitedTracee gone = *it;
    if (!req.no_wait) exited_tracees_.erase(it);
    bool killed = WIFSIGNALED(gone.status);
    report_to_wait(w, req, gone.tid, gone.status, killed ? CLD_KILLED : CLD_EXITED,
                   killed ? WTERMSIG(gone.status) : WEXITSTATUS(gone.status));
    return true;
  }
  for (auto& [tid, c] : tasks_) {
    if (c.ptrace.stop == TracerStop::kNone || c.ptrace.reported || !wait_matches(w, req, c)) {
      continue;
    }
    c.ptrace.reported = !req.no_wait;
    report_to_wait(w, req, tid, c.ptrace.status, CLD_TRAPPED, c.ptrace.status >> 8);
    return true;
  }
  return false;
}

bool Recorder::emulate_for_tracer(RecordTask& t) {
  if (t.call.number == SYS_ptrace) {
    finish_emulated(t, ptrace_request(t));
    return true;
  }
  if (t.call.number != SYS_wait4 && t.call.number != SYS_waitid) return false;
  WaitRequest req = decode_wait(t.call);
  bool for_tracee = false, for_other = false;  // other: not the caller's child
  for (auto& [tid, c] : tasks_) {
    if (!wait_matches(t, req, c)) continue;
    for_tracee = true;
    for_other |= !(tid == c.tgid && c.parent_tgid == t.tgid);
  }
  for (const ExitedTracee& gone : exited_tracees_) {
    for_tracee |= gone.tracer == t.tgid && waits_for_exited(req, gone);
  }
  if (!for_tracee) return false;  // real children only: the kernel's
  if (answer_wait(t, req)) return true;
  // Nothing to report: a tracee that is a real child and still runs
  // reads the same to the kernel (0 with WNOHANG); for others the kernel
  // knows nothing, so say 0 ourselves (not looking at real children).
  if (req.no_hang && for_other) {
    finish_emulated(t, 0);
    return true;
  }
  if (req.no_hang) return false;
  t.held_in_wait = true;  // until a tracee stops (or a child ends)
  return true;
}

// `tracer` has a new tracee: a wait it is blocked in inside the kernel
// would never see that tracee's stops. PTRACE_INTERRUPT makes the kernel
// end it with -ERESTARTSYS and restart it once resumed, and at that new
// entry it is ours (replay restarts the emulated call the same way).
void Recorder::interrupt_real_waits(pid_t tracer) {
  for (auto& [tid, w] : tasks_) {
    if (w.tgid == tracer && w.desc && !w.held_in_wait &&
        (w.call.number == SYS_wait4 || w.call.number == SYS_waitid)) {
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    }
  }
}

bool Recorder::stop_at_event_for_tracer(RecordTask& t, int event, unsigned long message) {
  // PTRACE_O_TRACEFORK is 1 << PTRACE_EVENT_FORK, and so on.
  uint32_t option = 1u << event;
  if (!t.ptrace.tracer || !(t.ptrace.options & option)) return false;
  // The kernel makes no exit stop for a thread SIGKILL ends.
  if (event == PTRACE_EVENT_EXIT && WIFSIGNALED(message) && WTERMSIG(message) == SIGKILL) return false;
  t.ptrace.event_msg = message;
  stop_for_tracer(t, event_stop_info(t, event), TracerStop::kEvent);
  return true;
}

// The siginfo of a PTRACE_EVENT_* stop (its wait status is si_code << 8).
siginfo_t Recorder::event_stop_info(const RecordTask& t, int event) {
  siginfo_t info = {};
  info.si_signo = SIGTRAP;
  info.si_code = SIGTRAP | (event << 8);
  info.si_pid = t.task->tid();
  info.si_uid = getuid();
  return info;
}

void Recorder::inherit_tracer(const RecordTask& parent, RecordTask& child, int event) {
  if (!parent.ptrace.tracer || !(parent.ptrace.options & (1u << event))) return;
  child.ptrace = {};
  child.ptrace.tracer = parent.ptrace.tracer;
  child.ptrace.options = parent.ptrace.options;
  child.ptrace.seized = parent.ptrace.seized;
  child.ptrace.start_pending = true;
}

bool Recorder::stop_at_start_for_tracer(RecordTask& t) {
  if (!t.ptrace.start_pending) return false;
  t.ptrace.start_pending = false;
  // The kernel starts an auto-attached child with a SIGSTOP (seized: a
  // PTRACE_EVENT_STOP). It sits at rrx's own first stop, as in replay.
  // (An event stop's status is its siginfo's si_code, shifted.)
  siginfo_t info = {};
  info.si_signo = t.ptrace.seized ? SIGTRAP : SIGSTOP;
  info.si_code = t.ptrace.seized ? (SIGTRAP | (PTRACE_EVENT_STOP << 8)) : SIGSTOP;
  stop_for_tracer(t, info, TracerStop::kEvent);
  t.ptrace.siginfo.si_code = SI_USER;
  return true;
}

bool Recorder::stop_at_syscall_for_tracer(RecordTask& t, TracerStop kind) {
  if (!t.ptrace.tracer) return false;
  bool exec_done = kind == TracerStop::kSyscallExit && t.exit_regs.rax == 0 &&
                   (t.exit_regs.orig_rax == SYS_execve || t.exit_regs.orig_rax == SYS_execveat);
  if (exec_done && !t.ptrace.seized && !(t.ptrace.options & PTRACE_O_TRACEEXEC)) {
    // A tracee attached the old way gets a SIGTRAP after a successful
    // execve; we are its real tracer and seized it, so the kernel does not
    // send it: we do (it then stops it for its tracer, after this stop).
    syscall(SYS_tgkill, t.tgid, t.task->tid(), SIGTRAP);
  }
  if (!t.ptrace.syscall_stops && !t.ptrace.interrupt_pending) return false;
  // rrx's own pseudo syscalls (preload/syscallbuf_abi.h) are no business
  // of the program's tracer.
  uint64_t nr = kind == TracerStop::kSyscallEntry ? t.call.number : t.exit_regs.orig_rax;
  if (nr >= RRX_CALL_FIRST && nr <= RRX_CALL_MISMATCH) return false;
  if (!t.ptrace.syscall_stops) {
    // PTRACE_INTERRUPT takes effect here, a point replay holds the thread
    // at too (the kernel would take it at once, wherever the thread is).
    stop_for_tracer(t, event_stop_info(t, PTRACE_EVENT_STOP),
                    kind == TracerStop::kSyscallEntry ? TracerStop::kInterruptAtEntry
                                                      : TracerStop::kInterruptAtExit);
    return true;
  }
  siginfo_t info = {};
  info.si_signo = SIGTRAP;
  info.si_code = SIGTRAP | (t.ptrace.options & PTRACE_O_TRACESYSGOOD ? 0x80 : 0);
  info.si_pid = t.task->tid();
  info.si_uid = getuid();
  stop_for_tracer(t, info, kind);
  return true;
}

// The thread's syscalls are all traced while its tracer follows them: a
// syscall buffered in-process would make no stop.
void Recorder::set_all_traced(RecordTask& t, bool on) {
  uint8_t flag = on;
  if (t.buffer) t.task->write_mem(t.buffer + offsetof(rrx_buffer_hdr, all_traced), &flag, 1);
}

namespace {

// Whether process `tgid` catches SIGCHLD or blocks it (to wait for it with
// sigsuspend, sigwaitinfo or a signalfd): otherwise a SIGCHLD has no
// effect on it, and none is sent.
bool takes_sigchld(pid_t tgid) {
  SignalSets sets;
  return read_signal_sets(tgid, &sets) &&
         ((sets.blocked | sets.caught) & (1ull << (SIGCHLD - 1)));
}

}  // namespace

// The kernel tells a tracer with SIGCHLD that a tracee stopped. Ours comes
// from rrx (SI_USER): at its delivery to the tracer the siginfo becomes
// the one the kernel would have sent (rewrite_our_sigchld), and is recorded
// as such.
void Recorder::notify_tracer(const RecordTask& tracee) {
  pid_t tracer = tracee.ptrace.tracer;
  if (!takes_sigchld(tracer)) return;
  siginfo_t info = {};
  info.si_signo = SIGCHLD;
  info.si_code = CLD_TRAPPED;
  info.si_pid = tracee.task->tid();
  info.si_uid = getuid();
  info.si_status = tracee.ptrace.status >> 8;
  sigchld_sent_[tracer] = info;
  kill(tracer, SIGCHLD);
}

void Recorder::rewrite_our_sigchld(RecordTask& t, siginfo_t* info) {
  auto it = sigchld_sent_.find(t.tgid);
  if (info->si_signo != SIGCHLD || info->si_code != SI_USER || info->si_pid != getpid() ||
      it == sigchld_sent_.end()) {
    return;
  }
  *info = it->second;
  sigchld_sent_.erase(it);
  t.task->set_siginfo(*info);
}

void Recorder::stop_for_tracer(RecordTask& t, const siginfo_t& info, TracerStop kind) {
  t.ptrace.stop = kind;
  t.ptrace.status = kind == TracerStop::kSignal ? stop_status(info.si_signo)
                                                : (info.si_code << 8) | 0x7f;
  t.ptrace.reported = false;
  t.ptrace.interrupt_pending = false;  // any stop answers it
  t.ptrace.siginfo = info;
  notify_tracer(t);
  for (auto& [tid, w] : tasks_) {
    if (w.held_in_wait && w.tgid == t.ptrace.tracer && answer_wait(w, decode_wait(w.call))) break;
  }
}

void Recorder::record_tracer_change(RecordTask& tracee, uint64_t addr, const void* data, size_t len) {
  Event event;
  event.tid = tracee.task->tid();
  event.kind = EventKind::kTracerChange;
  tracee.task->get_regs(&event.regs);
  const Registers& r = event.regs;
  uint64_t args[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
  int stop_event = tracee.ptrace.status >> 16;
  if (tracee.ptrace.stop == TracerStop::kEvent &&
      (stop_event == PTRACE_EVENT_EXIT || stop_event == PTRACE_EVENT_VFORK_DONE)) {
    // Replay has no stop to hold the thread at there.
    fail("ptrace in process " + std::to_string(tracee.ptrace.tracer) + " changed thread " +
         std::to_string(event.tid) + " at an event stop (not supported); recording stopped");
    return;
  }
  if ((tracee.ptrace.stop == TracerStop::kSyscallEntry ||
       tracee.ptrace.stop == TracerStop::kInterruptAtEntry) &&
      (static_cast<int>(r.orig_rax) != tracee.call.number ||
       memcmp(args, tracee.call.args, sizeof args) != 0)) {
    // The entry is recorded and its rules chosen already.
    fail("ptrace in process " + std::to_string(tracee.ptrace.tracer) +
         " changed the syscall of thread " + std::to_string(event.tid) +
         " at its entry stop (not supported); recording stopped");
    return;
  }
  if (len) event.writes.push_back({addr, std::string(static_cast<const char*>(data), len)});
  emit(event);
}

int64_t Recorder::resume_tracee(RecordTask& tracer, RecordTask& tracee, long request, uint64_t sig) {
  if (sig >= _NSIG) return -EIO;
  siginfo_t info = tracee.ptrace.siginfo;
  TracerStop stop = tracee.ptrace.stop;
  if (request == PTRACE_DETACH) {
    tracee.ptrace = {};
  } else {
    tracee.ptrace.stop = TracerStop::kNone;
    tracee.ptrace.syscall_stops = request == PTRACE_SYSCALL;
  }
  set_all_traced(tracee, tracee.ptrace.syscall_stops);
  // At syscall and event stops the signal is not injected (ptrace(2)
  // allows that): the stop's own work goes on.
  if (stop != TracerStop::kSignal) {
    leave_tracer_stop(tracee, stop);
    return 0;
  }
  if (sig) {
    // Another signal than the one that stopped it reads as sent by the
    // tracer, as the kernel makes it.
    if (info.si_signo != static_cast<int>(sig)) {
      info = {};
      info.si_signo = static_cast<int>(sig);
      info.si_code = SI_USER;
      info.si_pid = tracer.tgid;
      info.si_uid = getuid();
    }
    tracee.task->set_siginfo(info);
    Event event;
    event.tid = tracee.task->tid();
    event.kind = EventKind::kSignal;
    tracee.task->get_regs(&event.regs);
    event.signo = static_cast<int>(sig);
    event.siginfo.assign(reinterpret_cast<const char*>(&info), sizeof info);
    event.tracer = SignalTracer::kInjected;
    emit(event);
  }
  resume_task(tracee, static_cast<int>(sig));
  return 0;
}

// PTRACE_SINGLESTEP: the tracee runs one instruction (rrx single-steps it
// for real) and stops for its tracer with SIGTRAP (TRAP_TRACE). That stop
// is recorded as a signal at a point in the computation (tick count and
// registers), where replay stops the thread and sends the SIGTRAP. Only
// from a stop where the tracee goes back to user code (a signal or event
// stop), and not over a syscall instruction: a step does not stop at the
// syscall, which would run unrecorded.
int64_t Recorder::step_tracee(RecordTask& tracer, RecordTask& tracee, uint64_t sig) {
  std::string refused;
  if (tracee.ptrace.stop != TracerStop::kSignal && tracee.ptrace.stop != TracerStop::kEvent) {
    refused = "from a syscall stop";
  } else if (!soft_ticks_ && !hw_ticks_) {
    refused = "in a recording without ticks";
  } else if (tracee.ptrace.stop == TracerStop::kSignal) {
    Registers regs;
    uint8_t insn[2] = {};
    tracee.task->get_regs(&regs);
    tracee.task->read_mem(regs.rip, insn, sizeof insn);
    if ((insn[0] == 0x0f && insn[1] == 0x05) || (insn[0] == 0xcd && insn[1] == 0x80)) {
      refused = "over a syscall instruction";
    }
  }
  if (!refused.empty()) {
    fail("ptrace PTRACE_SINGLESTEP " + refused + " (thread " + std::to_string(tracee.task->tid()) +
         ") is not supported; recording stopped");
    return -EIO;
  }
  tracee.ptrace.step_pending = true;
  return resume_tracee(tracer, tracee, PTRACE_SINGLESTEP, sig);
}

// The SIGTRAP that ends a PTRACE_SINGLESTEP (on_signal). A step into a
// stub (a counted branch, with the program instructions relocated there)
// goes on to the next program instruction's own address: the tracer never
// sees a stub, and one step may then cover the few instructions the stub
// holds. Into the syscall buffering's code it is refused.
void Recorder::end_tracer_step(RecordTask& t, const siginfo_t& info) {
  Registers regs;
  t.task->get_regs(&regs);
  if (instrumenter_ && instrumenter_->in_stub(t.tgid, regs.rip)) {
    step_out_of_glue(t, &regs, true);
    if (!error_.empty()) return;
  }
  if (in_buffer_code(t, regs.rip)) {
    fail("ptrace PTRACE_SINGLESTEP into a buffered syscall (thread " +
         std::to_string(t.task->tid()) + ") is not supported; recording stopped");
    return;
  }
  flush_buffer(t);
  Event event = signal_event(t, regs, info);
  event.deterministic = false;  // replay makes no step: it stops there and sends it
  event.ticks = read_ticks(*t.task);
  event.tracer = SignalTracer::kStopped;
  emit(event);
  t.have_exit_regs = false;
  stop_for_tracer(t, info);
}

// A write of `t`'s into /proc/PID/mem of a recorded thread (debuggers
// plant breakpoints so, gdb among them): the kernel changed that thread's
// memory, which replay must do too. Into its own process: one more output
// of the call (*own). Into a tracee stopped for it: recorded as a change by
// its tracer, as a POKEDATA would be. Anything else is refused.
void Recorder::note_proc_mem_write(RecordTask& t, std::vector<MemRegion>* own) {
  if ((t.call.number != SYS_pwrite64 && t.call.number != SYS_write) || t.call.result <= 0) return;
  char link[64], target[128];
  snprintf(link, sizeof link, "/proc/%d/fd/%d", t.task->tid(), static_cast<int>(t.call.args[0]));
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return;
  target[n] = '\0';
  int pid = 0, tid = 0, end = 0;
  if (sscanf(target, "/proc/%d/task/%d/mem%n", &pid, &tid, &end) == 2 && target[end] == '\0') {
    pid = tid;
  } else if (!(sscanf(target, "/proc/%d/mem%n", &pid, &end) == 1 && target[end] == '\0')) {
    return;
  }
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) return;  // not recorded: nothing of ours changed
  RecordTask& tracee = it->second;
  if (tracee.tgid == t.tgid && t.call.number == SYS_pwrite64) {
    own->push_back({t.call.args[3], static_cast<uint64_t>(t.call.result)});
    return;
  }
  if (t.call.number != SYS_pwrite64 || tracee.ptrace.tracer != t.tgid ||
      tracee.ptrace.stop == TracerStop::kNone) {
    fail("process " + std::to_string(t.tgid) + " wrote into the memory of thread " +
         std::to_string(pid) + " through /proc (only pwrite64 into a tracee stopped for it is "
         "supported); recording stopped");
    return;
  }
  std::string bytes(static_cast<size_t>(t.call.result), '\0');
  if (!t.task->read_mem(t.call.args[1], bytes.data(), bytes.size())) return;
  record_tracer_change(tracee, t.call.args[3], bytes.data(), bytes.size());
}

// Lets `t` go on from a stop it sat in for its tracer, without a signal.
void Recorder::leave_tracer_stop(RecordTask& t, TracerStop stop) {
  switch (stop) {
    case TracerStop::kSyscallEntry: continue_syscall_entry(t); break;
    case TracerStop::kSyscallExit: continue_syscall_exit(t); break;
    // The syscall stop the interrupt stop came before is the tracer's
    // next if it follows syscalls now.
    case TracerStop::kInterruptAtEntry:
      if (!stop_at_syscall_for_tracer(t, TracerStop::kSyscallEntry)) continue_syscall_entry(t);
      break;
    case TracerStop::kInterruptAtExit:
      if (!stop_at_syscall_for_tracer(t, TracerStop::kSyscallExit)) continue_syscall_exit(t);
      break;
    case TracerStop::kSignal:
    case TracerStop::kEvent: resume_task(t); break;
    case TracerStop::kNone: break;
  }
}

int64_t Recorder::ptrace_request(RecordTask& t) {
  long request = static_cast<long>(t.call.args[0]);
  pid_t pid = static_cast<pid_t>(t.call.args[1]);
  uint64_t addr = t.call.args[2], data = t.call.args[3];
  if (request == PTRACE_TRACEME) {
    if (t.ptrace.tracer) return -EPERM;
    if (!tasks_.count(t.parent_tgid)) {
      fail("ptrace PTRACE_TRACEME in process " + std::to_string(t.tgid) +
           ", whose parent is not recorded; recording stopped");
      return -EPERM;
    }
    t.ptrace = {};
    t.ptrace.tracer = t.parent_tgid;
    interrupt_real_waits(t.parent_tgid);
    return 0;
  }
  if (request == PTRACE_ATTACH || request == PTRACE_SEIZE) return attach(t, request);
  auto it = tasks_.find(pid);
  if (it == tasks_.end() || it->second.ptrace.tracer != t.tgid) return -ESRCH;
  RecordTask& c = it->second;
  if (request == PTRACE_KILL) {
    syscall(SYS_tgkill, c.tgid, pid, SIGKILL);
    return 0;
  }
  if (request == PTRACE_INTERRUPT) {
    if (!c.ptrace.seized) return -EIO;
    if (c.ptrace.stop == TracerStop::kNone) {
      c.ptrace.interrupt_pending = true;
      set_all_traced(c, true);  // its next syscall must stop
    }
    return 0;
  }
  if (c.ptrace.stop == TracerStop::kNone) return -ESRCH;
  // The tracee sits at a real ptrace stop of ours: requests that the
  // kernel can answer for us go to it, with its checks and errors.
  auto ptrace_errno = [](long ret) -> int64_t { return ret == -1 && errno ? -errno : 0; };
  switch (request) {
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA:
    case PTRACE_PEEKUSER: {
      errno = 0;
      long word = ptrace(static_cast<__ptrace_request>(request), pid, addr, nullptr);
      if (int64_t err = ptrace_errno(word)) return err;
      return t.task->write_mem(data, &word, sizeof word) ? 0 : -EFAULT;
    }
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA:
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_POKEDATA, pid, addr, data))) return err;
      record_tracer_change(c, addr, &data, sizeof data);
      return 0;
    case PTRACE_POKEUSER:  // registers only (ptrace_rules.cc)
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_POKEUSER, pid, addr, data))) return err;
      record_tracer_change(c, 0, nullptr, 0);
      return 0;
    case PTRACE_GETREGS: {
      Registers regs;
      if (!c.task->get_regs(&regs)) return -ESRCH;
      return t.task->write_mem(data, &regs, sizeof regs) ? 0 : -EFAULT;
    }
    case PTRACE_SETREGS: {
      Registers regs;
      if (!t.task->read_mem(data, &regs, sizeof regs)) return -EFAULT;
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_SETREGS, pid, nullptr, &regs))) return err;
      record_tracer_change(c, 0, nullptr, 0);
      return 0;
    }
    case PTRACE_ARCH_PRCTL: {  // addr: the value or where to put it; data: the code
      if (data == ARCH_GET_FS || data == ARCH_GET_GS) {
        unsigned long base = 0;
        errno = 0;
        if (int64_t err = ptrace_errno(ptrace(PTRACE_ARCH_PRCTL, pid, &base, data))) return err;
        return t.task->write_mem(addr, &base, sizeof base) ? 0 : -EFAULT;
      }
      // (With syscall buffering the engine tells threads apart by their fs
      // base, which its own arch_prctl keeps track of; a tracer's change
      // of it does not replay yet.)
      if ((data != ARCH_SET_FS && data != ARCH_SET_GS) || buffering_) {
        fail("ptrace PTRACE_ARCH_PRCTL code " + std::to_string(data) + " in process " +
             std::to_string(t.tgid) + (buffering_ ? " with syscall buffering (record with -n)" : "") +
             " (not supported); recording stopped");
        return -EIO;
      }
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_ARCH_PRCTL, pid, addr, data))) return err;
      record_tracer_change(c, 0, nullptr, 0);  // the new base is in its registers
      return 0;
    }
    case PTRACE_SETREGSET: {  // the general registers only, as SETREGS
      struct iovec iov;
      Registers regs;
      if (!t.task->read_mem(data, &iov, sizeof iov)) return -EFAULT;
      if (addr != NT_PRSTATUS) {
        fail("ptrace PTRACE_SETREGSET of register set " + std::to_string(addr) + " in process " +
             std::to_string(t.tgid) + " (only NT_PRSTATUS is supported); recording stopped");
        return -EIO;
      }
      if (iov.iov_len < sizeof regs) return -EINVAL;
      if (!t.task->read_mem(reinterpret_cast<uint64_t>(iov.iov_base), &regs, sizeof regs)) return -EFAULT;
      struct iovec local = {&regs, sizeof regs};
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &local))) return err;
      record_tracer_change(c, 0, nullptr, 0);
      return 0;
    }
    case PTRACE_GETREGSET: {
      struct iovec iov;
      if (!t.task->read_mem(data, &iov, sizeof iov)) return -EFAULT;
      std::string buf(std::min<size_t>(iov.iov_len, 1 << 16), '\0');
      struct iovec local = {buf.data(), buf.size()};
      errno = 0;
      if (int64_t err = ptrace_errno(ptrace(PTRACE_GETREGSET, pid, addr, &local))) return err;
      iov.iov_len = local.iov_len;
      bool ok = t.task->write_mem(reinterpret_cast<uint64_t>(iov.iov_base), buf.data(), iov.iov_len) &&
                t.task->write_mem(data + offsetof(struct iovec, iov_len), &iov.iov_len, sizeof iov.iov_len);
      return ok ? 0 : -EFAULT;
    }
    case PTRACE_GET_SYSCALL_INFO: {
      struct __ptrace_syscall_info info = {};
      errno = 0;
      long size = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
      if (int64_t err = ptrace_errno(size)) return err;
      if (c.ptrace.stop == TracerStop::kInterruptAtEntry || c.ptrace.stop == TracerStop::kInterruptAtExit) {
        // The tracer's stop is an event stop, not our syscall stop.
        info.op = PTRACE_SYSCALL_INFO_NONE;
        size = offsetof(struct __ptrace_syscall_info, entry);
      } else if (c.ptrace.stop == TracerStop::kSyscallEntry && info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
        // Under syscall buffering our entry stop is a seccomp stop; the
        // tracer's is a plain syscall-entry stop.
        info.op = PTRACE_SYSCALL_INFO_ENTRY;
        size = offsetof(struct __ptrace_syscall_info, entry.args) + sizeof info.entry.args;
      }
      size_t n = std::min<uint64_t>(addr, static_cast<uint64_t>(size));
      return t.task->write_mem(data, &info, n) ? size : -EFAULT;
    }
    case PTRACE_GETFPREGS: {
      user_fpregs_struct fpregs;
      if (!c.task->get_fpregs(&fpregs)) return -ESRCH;
      return t.task->write_mem(data, &fpregs, sizeof fpregs) ? 0 : -EFAULT;
    }
    case PTRACE_GETSIGINFO:
      return t.task->write_mem(data, &c.ptrace.siginfo, sizeof c.ptrace.siginfo) ? 0 : -EFAULT;
    case PTRACE_SETSIGINFO:
      return t.task->read_mem(data, &c.ptrace.siginfo, sizeof c.ptrace.siginfo) ? 0 : -EFAULT;
    case PTRACE_GETEVENTMSG: {
      return t.task->write_mem(data, &c.ptrace.event_msg, sizeof c.ptrace.event_msg) ? 0 : -EFAULT;
    }
    case PTRACE_SETOPTIONS:
      return set_ptrace_options(t, c, data);
    case PTRACE_CONT:
    case PTRACE_SYSCALL:
    case PTRACE_DETACH:
      return resume_tracee(t, c, request, data);
    case PTRACE_SINGLESTEP:
      return step_tracee(t, c, data);
  }
  fail("ptrace request " + std::to_string(request) + " reached the emulation unhandled");
  return -EIO;
}

int64_t Recorder::set_ptrace_options(RecordTask& tracer, RecordTask& tracee, uint64_t options) {
  if (options & ~static_cast<uint64_t>(PTRACE_O_MASK)) return -EINVAL;
  if (options & ~static_cast<uint64_t>(kEmulatedOptions)) {
    char what[96];
    snprintf(what, sizeof what, "ptrace options 0x%lx (seccomp stops are not emulated)",
             static_cast<unsigned long>(options));
    fail(std::string(what) + " in process " + std::to_string(tracer.tgid) + "; recording stopped");
    return -EINVAL;
  }
  tracee.ptrace.options = static_cast<uint32_t>(options);
  return 0;
}

// PTRACE_ATTACH and PTRACE_SEIZE, of a child of the tracer: the kernel's
// wait then knows the tracee as the tracer's child too (its real end is
// the kernel's to report; another tracer's would have to be emulated).
int64_t Recorder::attach(RecordTask& t, long request) {
  pid_t pid = static_cast<pid_t>(t.call.args[1]);
  auto it = tasks_.find(pid);
  if (it == tasks_.end()) return -ESRCH;
  RecordTask& c = it->second;
  if (c.tgid == t.tgid || c.ptrace.tracer) return -EPERM;
  if (c.parent_tgid != t.tgid) {
    fail("ptrace " + std::string(request == PTRACE_ATTACH ? "PTRACE_ATTACH" : "PTRACE_SEIZE") +
         " of thread " + std::to_string(pid) + ", which is not a child of process " +
         std::to_string(t.tgid) + " (not supported); recording stopped");
    return -EPERM;
  }
  if (request == PTRACE_SEIZE) {
    if (t.call.args[2] != 0) return -EIO;
    if (int64_t err = set_ptrace_options(t, c, t.call.args[3])) return err;
    c.ptrace.seized = true;
  }
  c.ptrace.tracer = t.tgid;
  // The kernel stops an attached thread with SIGSTOP; that signal then
  // stops it for its tracer like any other.
  if (request == PTRACE_ATTACH) syscall(SYS_tgkill, c.tgid, pid, SIGSTOP);
  interrupt_real_waits(t.tgid);
  return 0;
}

void Recorder::ptrace_on_exit(RecordTask& t, int status) {
  pid_t tid = t.task->tid();
  // The kernel reports a real child's end to its parent; a tracee the
  // tracer did not fork (a thread, an auto-attached grandchild) is ours to
  // report.
  if (t.ptrace.tracer && !(tid == t.tgid && t.parent_tgid == t.ptrace.tracer)) {
    ExitedTracee gone = {tid, status, t.ptrace.tracer};
    exited_tracees_.push_back(gone);
    for (auto& [wtid, w] : tasks_) {
      if (w.held_in_wait && w.tgid == gone.tracer && answer_wait(w, decode_wait(w.call))) break;
    }
  }
  if (tid != t.tgid) return;  // a process's tracees and waits end with it
  std::erase_if(exited_tracees_, [&](const ExitedTracee& gone) { return gone.tracer == tid; });
  for (auto& [ctid, c] : tasks_) {
    if (c.ptrace.tracer != t.tgid) continue;
    TracerStop stop = c.ptrace.stop;
    bool kill_it = c.ptrace.options & PTRACE_O_EXITKILL;
    c.ptrace = {};
    set_all_traced(c, false);
    if (kill_it) {
      syscall(SYS_tgkill, c.tgid, ctid, SIGKILL);
    } else {
      leave_tracer_stop(c, stop);  // detached, a stop's signal dropped, as by the kernel
    }
  }
  // A parent held waiting for its tracees may wait for this child too:
  // the kernel reports its end.
  for (auto& [wtid, w] : tasks_) {
    if (!w.held_in_wait || w.tgid != t.parent_tgid) continue;
    WaitRequest req = decode_wait(w.call);
    if (req.who == WaitRequest::Who::kPid && req.id != tid) continue;
    w.held_in_wait = false;
    resume_task(w);
  }
}

}  // namespace rrx
