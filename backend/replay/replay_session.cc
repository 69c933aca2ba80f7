#include "replay/replay_session.h"

#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/cpu_binding.h"
#include "core/instruction.h"
#include "core/registers.h"
#include "core/remote_syscall.h"
#include "core/signal_class.h"
#include "core/spawn.h"
#include "core/stop.h"
#include "core/task.h"
#include "core/vdso.h"
#include "syscalls/sigmask_args.h"
#include "syscalls/syscall_table.h"

namespace rrx {

// Per-thread replay state. Threads are resumed lazily: only when the next
// event needs their next stop.
struct ReplayTask {
  std::unique_ptr<Task> task;
  bool stopped = true;     // at a ptrace stop we have not resumed from
  int resume_sig = 0;      // signal to deliver when resumed
  bool rearm_cpuid_faulting = false;
  // The syscall the thread is inside and what replay does with it.
  const SyscallDesc* desc = nullptr;
  SyscallCall call;
  bool emulated = false;
  // The next recorded signal was already sent (see deliver_under_temporary_mask).
  bool signal_sent = false;
};

namespace {

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

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

// Resumes `t` if needed and waits until it reaches a stop of kind `want`
// (for signals: of signal `want_sig`). Stops a faithful replay may see on
// the way are passed over: job-control stops, a new thread's first stop,
// the exit notification before the exit itself, and signals the real
// kernel sends during replay (e.g. SIGCHLD for a replayed child), which are
// suppressed — recorded signals are injected at their recorded points.
bool advance(ReplayTask& t, StopKind want, int want_sig, Stop* out, std::string* what) {
  for (;;) {
    if (t.stopped) {
      if (!t.task->resume(t.resume_sig)) {
        *what = "cannot resume the thread";
        return false;
      }
      t.resume_sig = 0;
      t.stopped = false;
    }
    int status;
    if (wait_for(t.task->tid(), &status) < 0) {
      *what = "the thread vanished";
      return false;
    }
    Stop stop = decode_stop(t.task->tid(), status);
    t.stopped = stop.kind != StopKind::kExited;
    bool wanted = stop.kind == want && (want != StopKind::kSignal || stop.sig == want_sig);
    if (wanted) {
      *out = stop;
      return true;
    }
    switch (stop.kind) {
      case StopKind::kGroupStop:
      case StopKind::kVforkDone:
        continue;
      case StopKind::kExiting:
        if (want == StopKind::kExited) continue;
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
    return false;
  }
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
  for (auto& [tid, t] : tasks_) kill(t->task->tid(), SIGKILL);
  for (auto& [tid, t] : tasks_) waitpid(t->task->tid(), nullptr, __WALL);
  // Replayed processes whose parents never reaped them (wait4 is emulated)
  // were reparented to us as their subreaper.
  while (waitpid(-1, nullptr, __WALL | WNOHANG) > 0) {
  }
}

bool ReplaySession::spawn_root() {
  const TraceHeader& header = reader_->header();
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
  spawn.rlimit_cur = header.rlimit_cur;
  spawn.rlimit_max = header.rlimit_max;
  pid_t pid = spawn_traced(spawn, &error_);
  if (pid < 0) return false;
  auto root = std::make_unique<ReplayTask>();
  root->task = std::make_unique<Task>(pid);
  root->stopped = false;  // running towards its exec event
  tasks_[header.root_tid] = std::move(root);
  return true;
}

bool ReplaySession::next_event(Event* event) {
  if (!lookahead_.empty()) {
    *event = std::move(lookahead_.front());
    lookahead_.pop_front();
    return true;
  }
  return reader_->next(event, &error_);
}

const Event* ReplaySession::peek_for_tid(int32_t tid) {
  for (const Event& e : lookahead_) {
    if (e.tid == tid) return &e;
  }
  for (;;) {
    Event e;
    if (!reader_->next(&e, &error_)) return nullptr;
    lookahead_.push_back(std::move(e));
    if (lookahead_.back().tid == tid) return &lookahead_.back();
  }
}

bool ReplaySession::diverged(const Event& event, const std::string& what) {
  error_ = "replay diverged at event " + std::to_string(event.seq) + " (" +
           event_kind_name(event.kind) + " of thread " + std::to_string(event.tid) +
           "): " + what;
  return false;
}

bool ReplaySession::step() {
  Event e;
  if (!next_event(&e)) {
    if (error_.empty() && !tasks_.empty()) {
      error_ = "the trace ended while " + std::to_string(tasks_.size()) +
               " recorded thread(s) were still running";
    }
    return false;
  }
  seq_ = e.seq;
  auto it = tasks_.find(e.tid);
  if (it == tasks_.end()) return diverged(e, "no such thread in the replay");
  ReplayTask& t = *it->second;
  switch (e.kind) {
    case EventKind::kSyscallEntry: return replay_syscall_entry(t, e);
    case EventKind::kSyscallExit: return replay_syscall_exit(t, e);
    case EventKind::kExec: return replay_exec(t, e);
    case EventKind::kNewTask: return replay_new_task(t, e);
    case EventKind::kSignal: return replay_signal(t, e);
    case EventKind::kInstruction: return replay_instruction(t, e);
    case EventKind::kExit: return replay_exit(t, e);
  }
  return diverged(e, "unknown event kind");
}

bool ReplaySession::replay_syscall_entry(ReplayTask& t, const Event& e) {
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kSyscallEntry, 0, &stop, &what)) return diverged(e, what);
  Registers regs;
  t.task->get_regs(&regs);
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

  switch (t.desc->replay) {
    case ReplayAction::kExecute:
    case ReplayAction::kFork: {
      // A call that failed when recorded (e.g. a fork interrupted by a
      // signal, to be restarted) had no effect then: emulate it.
      const Event* next = peek_for_tid(e.tid);
      t.emulated = t.desc->record == RecordPolicy::kDenyENOSYS ||
                   (next && next->kind == EventKind::kSyscallExit && is_syscall_error(next->regs.rax));
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
        if (path.empty()) return false;
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
    default:
      t.emulated = true;
      break;
  }
  if (t.emulated) {
    regs.orig_rax = static_cast<uint64_t>(-1);  // the kernel skips it
    t.task->set_regs(regs);
  } else {
    // Let the kernel run it now: others may wait on it (a vfork parent
    // resumes only once its child's execve is under way).
    if (!t.task->resume()) return diverged(e, "cannot resume the thread");
    t.stopped = false;
  }
  return true;
}

bool ReplaySession::replay_syscall_exit(ReplayTask& t, const Event& e) {
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kSyscallExit, 0, &stop, &what)) return diverged(e, what);
  if (t.rearm_cpuid_faulting) {
    t.rearm_cpuid_faulting = false;
    bool ok;
    if (remote_syscall(*t.task, SYS_arch_prctl, {ARCH_SET_CPUID, 0}, &ok) != 0 || !ok) {
      return diverged(e, "cannot enable cpuid faulting");
    }
  } else if (t.desc) {
    ReplayAction action = t.desc->replay;
    if (t.emulated && is_interrupted(e.regs.rax)) {
      if (!deliver_under_temporary_mask(t, e)) return false;
    } else if (action == ReplayAction::kMmap || action == ReplayAction::kMremap) {
      if (!is_syscall_error(e.regs.rax) && !remap(t, e)) return false;
    } else if (action == ReplayAction::kSigreturn) {
      Registers regs;
      t.task->get_regs(&regs);
      std::string diff = diff_registers(e.regs, regs);
      if (!diff.empty()) return diverged(e, "after rt_sigreturn, " + diff);
    }
  }
  for (const MemWrite& w : e.writes) {
    if (!t.task->write_mem(w.addr, w.data.data(), w.data.size())) {
      return diverged(e, "cannot write recorded syscall output to memory");
    }
  }
  t.task->set_regs(e.regs);
  t.desc = nullptr;
  if (echo_ && e.echo_fd != 0) write_all(e.echo_fd, e.echo_data);
  return true;
}

// Re-creates the mapping an mmap or mremap made when recorded, at the
// recorded address; file mappings come from the trace's saved copy.
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
      // Writes through a shared mapping must not reach the trace's copy.
      flags = (flags & ~uint64_t{MAP_SHARED_VALIDATE}) | MAP_PRIVATE;
      StackScratch scratch(*t.task);
      uint64_t path_addr = scratch.push(path);
      int64_t fd = remote_syscall(*t.task, SYS_openat,
                                  {static_cast<uint64_t>(AT_FDCWD), path_addr, O_RDONLY | O_CLOEXEC},
                                  &ok);
      if (!ok || fd < 0) return diverged(e, "cannot open " + path + " in the replayed process");
      got = remote_syscall(*t.task, SYS_mmap,
                           {want, a[1], a[2], flags, static_cast<uint64_t>(fd), e.mapped_file.offset},
                           &ok);
      remote_syscall(*t.task, SYS_close, {static_cast<uint64_t>(fd)}, &ok);
    }
  }
  if (!ok || static_cast<uint64_t>(got) != want) {
    char buf[96];
    snprintf(buf, sizeof buf, "%s returned 0x%lx, recorded 0x%lx", t.desc->name,
             static_cast<unsigned long>(got), static_cast<unsigned long>(want));
    return diverged(e, buf);
  }
  return true;
}

// A signal that interrupted rt_sigsuspend (or ppoll, pselect6, ...) was
// delivered under the call's temporary mask and with the old mask saved for
// the handler's return. Emulating the call installed no mask, so: send the
// signal, run a real rt_sigsuspend with that mask (it returns at once, the
// signal being pending) and let the kernel deliver it as it did.
bool ReplaySession::deliver_under_temporary_mask(ReplayTask& t, const Event& e) {
  uint64_t mask_addr, mask_size;
  const Event* next = peek_for_tid(e.tid);
  if (!next || next->kind != EventKind::kSignal || next->deterministic ||
      !temporary_sigmask(t.call, *t.task, &mask_addr, &mask_size)) {
    return true;
  }
  syscall(SYS_tgkill, t.task->tid(), t.task->tid(), next->signo);
  t.signal_sent = true;
  bool ok;
  remote_syscall(*t.task, SYS_rt_sigsuspend, {mask_addr, mask_size}, &ok);
  if (!ok) return diverged(e, "cannot install the temporary signal mask");
  return true;
}

bool ReplaySession::replay_exec(ReplayTask& t, const Event& e) {
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kExec, 0, &stop, &what)) return diverged(e, what);
  t.task->reopen_mem();
  // Put back the stack the kernel built when recording (argv, envp,
  // auxv, AT_RANDOM): the replay exec'd a different path, and AT_RANDOM
  // differs on every exec.
  for (const MemWrite& w : e.writes) {
    if (!t.task->write_mem(w.addr, w.data.data(), w.data.size())) {
      return diverged(e, "cannot restore the initial stack");
    }
  }
  t.task->set_regs(e.regs);
  std::string err;
  if (!patch_vdso(*t.task, &err)) return diverged(e, err);
  t.rearm_cpuid_faulting = reader_->header().cpuid_faulting;
  t.desc = nullptr;
  return true;
}

bool ReplaySession::replay_new_task(ReplayTask& t, const Event& e) {
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kNewTask, 0, &stop, &what)) return diverged(e, what);
  pid_t real = static_cast<pid_t>(t.task->event_msg());
  auto child = std::make_unique<ReplayTask>();
  child->task = std::make_unique<Task>(real);
  child->task->syscall_gadget = t.task->syscall_gadget;
  child->stopped = false;
  // Consume the child's first stop now so its memory can be fixed up.
  Stop first;
  if (!advance(*child, StopKind::kGroupStop, 0, &first, &what)) return diverged(e, what);
  if (e.clone_flags & CLONE_CHILD_SETTID) {
    // The kernel stored the replay's tid; the program saw the recorded one.
    int32_t tid = e.new_tid;
    uint64_t addr = clone_child_tid_addr(t);
    if (addr) child->task->write_mem(addr, &tid, sizeof tid);
  }
  tasks_[e.new_tid] = std::move(child);
  return true;
}

bool ReplaySession::replay_signal(ReplayTask& t, const Event& e) {
  if (!e.deterministic && !t.signal_sent) {
    // It came from outside when recording: send it now, so the kernel
    // delivers it at the same point.
    syscall(SYS_tgkill, t.task->tid(), t.task->tid(), e.signo);
  }
  t.signal_sent = false;
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kSignal, e.signo, &stop, &what)) return diverged(e, what);
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) return diverged(e, "at signal delivery, " + diff);
  if (!e.deterministic && e.siginfo.size() == sizeof(siginfo_t)) {
    siginfo_t info;
    memcpy(&info, e.siginfo.data(), sizeof info);
    t.task->set_siginfo(info);
  }
  t.resume_sig = e.signo;
  return true;
}

bool ReplaySession::replay_instruction(ReplayTask& t, const Event& e) {
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kSignal, SIGSEGV, &stop, &what)) return diverged(e, what);
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) return diverged(e, "at rdtsc/cpuid, " + diff);
  InsnResult insn = decode_trapped_insn(*t.task, regs);
  if (insn.insn == TrappedInsn::kNone || insn.length != e.insn_len) {
    return diverged(e, "no rdtsc/rdtscp/cpuid instruction at the recorded address");
  }
  insn.rax = e.values[0];
  insn.rbx = e.values[1];
  insn.rcx = e.values[2];
  insn.rdx = e.values[3];
  apply_trapped_insn(insn, &regs);
  t.task->set_regs(regs);
  t.resume_sig = 0;
  return true;
}

bool ReplaySession::replay_exit(ReplayTask& t, const Event& e) {
  if (WIFSIGNALED(e.exit_status) && WTERMSIG(e.exit_status) == SIGKILL) {
    kill(t.task->tid(), SIGKILL);  // SIGKILL leaves no delivery stop to replay
  }
  Stop stop;
  std::string what;
  if (!advance(t, StopKind::kExited, 0, &stop, &what)) return diverged(e, what);
  if (!same_exit(e.exit_status, stop.status)) {
    return diverged(e, "the process ended with " + describe_status(stop.status) + ", recorded " +
                           describe_status(e.exit_status));
  }
  tasks_.erase(e.tid);
  return true;
}

}  // namespace rrx
