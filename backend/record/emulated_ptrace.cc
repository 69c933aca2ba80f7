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

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace rrx {

namespace {

// The options a wait4 or waitid call may pass (others: EINVAL, the
// kernel's to say).
constexpr uint64_t kWaitFlags = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL;
constexpr uint64_t kWaitidFlags = kWaitFlags | WEXITED | WNOWAIT;
// The options we emulate: the tracee's own stops and how they read.
constexpr uint32_t kEmulatedOptions = PTRACE_O_EXITKILL;

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

// Answers `w`'s wait with the first unreported stop of a tracee it waits
// for, writing what the kernel would; false if there is none.
bool Recorder::answer_wait(RecordTask& w, const WaitRequest& req) {
  for (auto& [tid, c] : tasks_) {
    if (c.ptrace.stop == TracerStop::kNone || c.ptrace.reported || !wait_matches(w, req, c)) {
      continue;
    }
    c.ptrace.reported = !req.no_wait;
    const uint64_t* a = w.call.args;
    struct rusage usage = {};  // not measured: the tracee's own is the kernel's
    bool ok = true;
    int64_t result = tid;
    if (req.waitid) {
      siginfo_t info = {};
      info.si_signo = SIGCHLD;
      info.si_code = CLD_TRAPPED;
      info.si_pid = tid;
      info.si_uid = getuid();
      info.si_status = c.ptrace.status >> 8;
      ok = (!a[2] || w.task->write_mem(a[2], &info, sizeof info)) &&
           (!a[4] || w.task->write_mem(a[4], &usage, sizeof usage));
      result = 0;
    } else {
      ok = (!a[1] || w.task->write_mem(a[1], &c.ptrace.status, sizeof c.ptrace.status)) &&
           (!a[3] || w.task->write_mem(a[3], &usage, sizeof usage));
    }
    finish_emulated(w, ok ? result : -EFAULT);
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
  bool for_tracee = false;
  for (auto& [tid, c] : tasks_) for_tracee |= wait_matches(t, req, c);
  if (!for_tracee) return false;  // real children only: the kernel's
  if (answer_wait(t, req)) return true;
  // Nothing to report: a tracee that is a real child and still runs
  // reads the same to the kernel (0 with WNOHANG).
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

void Recorder::stop_for_tracer(RecordTask& t, const siginfo_t& info) {
  t.ptrace.stop = TracerStop::kSignal;
  t.ptrace.status = stop_status(info.si_signo);
  t.ptrace.reported = false;
  t.ptrace.siginfo = info;
  for (auto& [tid, w] : tasks_) {
    if (w.held_in_wait && w.tgid == t.ptrace.tracer && answer_wait(w, decode_wait(w.call))) break;
  }
}

void Recorder::record_tracer_change(RecordTask& tracee, uint64_t addr, const void* data, size_t len) {
  Event event;
  event.tid = tracee.task->tid();
  event.kind = EventKind::kTracerChange;
  tracee.task->get_regs(&event.regs);
  if (len) event.writes.push_back({addr, std::string(static_cast<const char*>(data), len)});
  emit(event);
}

int64_t Recorder::resume_tracee(RecordTask& tracer, RecordTask& tracee, long request, uint64_t sig) {
  if (sig >= _NSIG) return -EIO;
  siginfo_t info = tracee.ptrace.siginfo;
  if (request == PTRACE_DETACH) {
    tracee.ptrace = {};
  } else {
    tracee.ptrace.stop = TracerStop::kNone;
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
  auto it = tasks_.find(pid);
  if (it == tasks_.end() || it->second.ptrace.tracer != t.tgid) return -ESRCH;
  RecordTask& c = it->second;
  if (request == PTRACE_KILL) {
    syscall(SYS_tgkill, c.tgid, pid, SIGKILL);
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
      unsigned long message = 0;  // no event stops are emulated (yet)
      return t.task->write_mem(data, &message, sizeof message) ? 0 : -EFAULT;
    }
    case PTRACE_SETOPTIONS:
      if (data & ~static_cast<uint64_t>(PTRACE_O_MASK)) return -EINVAL;
      if (data & ~static_cast<uint64_t>(kEmulatedOptions)) {
        char what[128];
        snprintf(what, sizeof what, "ptrace PTRACE_SETOPTIONS 0x%lx (event stops are not emulated)",
                 static_cast<unsigned long>(data));
        fail(std::string(what) + " in process " + std::to_string(t.tgid) + "; recording stopped");
        return -EINVAL;
      }
      c.ptrace.options = static_cast<uint32_t>(data);
      return 0;
    case PTRACE_CONT:
    case PTRACE_DETACH:
      return resume_tracee(t, c, request, data);
  }
  fail("ptrace request " + std::to_string(request) + " reached the emulation unhandled");
  return -EIO;
}

void Recorder::ptrace_on_exit(RecordTask& t) {
  pid_t tid = t.task->tid();
  if (tid != t.tgid) return;  // a process's tracees and waits end with it
  for (auto& [ctid, c] : tasks_) {
    if (c.ptrace.tracer != t.tgid) continue;
    bool held = c.ptrace.stop != TracerStop::kNone;
    bool kill_it = c.ptrace.options & PTRACE_O_EXITKILL;
    c.ptrace = {};
    if (kill_it) {
      syscall(SYS_tgkill, c.tgid, ctid, SIGKILL);
    } else if (held) {
      resume_task(c);  // detached, its stop's signal dropped, as by the kernel
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
