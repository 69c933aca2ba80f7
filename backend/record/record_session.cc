#include "record/record_session.h"

#include "record/recorder.h"

#include <asm/prctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "core/clone_untraced.h"
#include "core/cpu_binding.h"
#include "core/exec_setup.h"
#include "core/hw_tick_check.h"
#include "core/hw_tick_source.h"
#include "core/preload_page.h"
#include "core/tracer_cpuid.h"
#include "core/instruction.h"
#include "core/printable.h"
#include "core/proc_maps.h"
#include "core/registers.h"
#include "core/remote_syscall.h"
#include "core/seccomp_filter.h"
#include "core/spawn.h"
#include "core/stack_fingerprint.h"
#include "core/stop.h"
#include "core/task.h"
#include "core/tick_counter.h"
#include "core/tracee_fd.h"
#include "preload/syscallbuf_abi.h"
#include "record/code_instrumenter.h"
#include "record/output_capture.h"
#include "record/sysv_segments.h"
#include "trace/crc32.h"
#include "record/group_signal_shield.h"
#include "record/user_end.h"
#include "core/signal_class.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_writer.h"

namespace rrx {

void Recorder::fail(const std::string& message) {
  if (error_.empty()) error_ = message;
}

ExecSetup Recorder::exec_setup() const {
  ExecSetup setup;
  setup.cpuid_faulting = cpuid_faulting_;
  setup.soft_ticks = tick_page_;
  setup.preload_mode = buffering_ ? RRX_MODE_RECORD : RRX_MODE_OFF;
  setup.sinks = sinks_.stats();
  return setup;
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

// The engine finds a thread's buffer by its thread pointer
// (syscallbuf_abi.h); so does the recorder, for a thread that has not
// announced one itself: a new thread, or one whose thread pointer changed.
void Recorder::adopt_buffer(RecordTask& t) {
  auto known = thread_buffers_.find(t.tgid);
  if (known == thread_buffers_.end()) return;
  Registers regs;
  t.task->get_regs(&regs);
  auto it = known->second.find(regs.fs_base);
  if (it != known->second.end()) t.buffer = it->second;
}

// The engine found no buffer for t's thread pointer and ran its call
// traced (syscallbuf_abi.h): give it one here, at the call's exit.
void Recorder::give_buffer_if_wanted(RecordTask& t, const Registers& regs, Event* event) {
  if (!buffer_wanted(*t.task, regs.fs_base)) return;
  uint64_t addr = 0;
  if (!give_thread_buffer(*t.task, regs.fs_base, &addr)) return;  // its calls stay traced
  t.buffer = addr;
  thread_buffers_[t.tgid][regs.fs_base] = addr;
  event->new_buffer = addr;
}

// An RRX_CALL_NOTIFY stands for the program's syscall the engine ran
// buffered: its result is the call's (syscallbuf_abi.h, NOTIFY).
void Recorder::take_notify_result(RecordTask& t, Registers* regs) {
  int64_t ret;
  if (!t.buffer || !t.task->read_mem(t.buffer + offsetof(rrx_buffer_hdr, notify_ret), &ret, sizeof ret)) {
    return;
  }
  regs->rax = static_cast<uint64_t>(ret);
  t.task->set_regs(*regs);
}

void Recorder::emit(Event& event) {
  event.seq = ++seq_;
  event.micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - started_)
                                           .count());
  if (hw_ticks_) note_ticks(event);
  std::string err;
  if (!writer_->append(event, &err)) fail(err);
}

RecordResult Recorder::run(const RecordOptions& options) {
  RecordResult result;
  std::string path = find_program(options.argv[0]);
  if (path.empty()) {
    result.error = why_not_runnable(options.argv[0]);
    return result;
  }
  result.error = why_not_recordable(path);
  if (!result.error.empty()) return result;
  std::string tick_microarch;
  if (!use_record_tick_counters(options.ticks, &tick_counters_, &tick_microarch, &result.error)) {
    result.error = "--ticks=" + options.ticks + ": " + result.error + "; use --ticks=soft";
    return result;
  }
  SpawnOptions spawn;
  spawn.path = path;
  spawn.argv = options.argv;
  spawn.syscall_filter = options.buffer_syscalls;
  spawn.ignored_signals = options.ignored_signals;
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
  header.ticks = options.ticks;
  header.tick_microarch = tick_microarch;
  header.bound_cpu = cpu;
  header.cpu_signature = cpu_signature();
  // (After the spawn and our own cpuid above: see tracer_cpuid.h.)
  TracerCpuidFaulting tracer_cpuid(cpuid_faulting_);
  header.syscall_buffer = buffering_;
  header.ignored_signals = options.ignored_signals;
  for (int r = 0; r < RLIM_NLIMITS; ++r) {
    struct rlimit lim;
    getrlimit(static_cast<__rlimit_resource>(r), &lim);
    header.rlimit_cur.push_back(lim.rlim_cur);
    header.rlimit_max.push_back(lim.rlim_max);
  }

  RecordTask& root = tasks_[pid];
  root.task = std::make_unique<Task>(pid, &tick_counters_);
  root.tgid = pid;
  root.announced = root.started = true;

  bool header_written = false;
  GroupSignalShield shield;
  start_slice_timer();
  catch_user_end_signals();
  while (!tasks_.empty() && error_.empty() && !(header_written && user_end_signal()) &&
         !(root_exited_ && !wait_all_)) {
    int status;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid > 0) note_tracee_stop(tid);
    if (tid < 0 && errno == EINTR) {  // the slice timer, or a user's signal
      check_wall_clock_slices();
      warn_about_held_signals();
      std::string err;
      if (!writer_->flush_stale_events(&err)) fail(err);
      continue;
    }
    if (tid < 0) break;
    auto it = tasks_.find(tid);
    if (it == tasks_.end()) {
      // A new thread stopped before its parent's fork event: hold it.
      RecordTask& t = tasks_[tid];
      t.task = std::make_unique<Task>(tid, &tick_counters_);
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
      if (options.on_started) options.on_started();
    }
    t.stop_kind = stop.kind;
    pid_t key = group_of(t);
    ThreadGroup& group = groups_[key];
    if (group.running == tid) group.running = 0;
    handle(t, stop);
    schedule(shared_memory_ ? 0 : key);
  }

  stop_slice_timer();
  release_user_end_signals();
  TraceSummary summary;
  if (error_.empty() && root_exited_) summary.left_running = left_running();
  if (!error_.empty() || !tasks_.empty()) {
    // Leave no tracee behind. After an error the trace has no completeness
    // marker; a user's SIGTERM or SIGHUP ends it here.
    std::vector<pid_t> tids;
    for (auto& [tid, t] : tasks_) tids.push_back(tid);
    kill_tracees(tids);
    tasks_.clear();
    // As if the program had been killed by it.
    if (user_end_signal()) root_status_ = user_end_signal();
  }
  if (!error_.empty()) {
    result.error = error_;
    return result;
  }
  // Told to a user watching (not into a captured stderr the program shares).
  if (instrumenter_ && isatty(STDERR_FILENO)) {
    std::string line = instrumenter_->summary();
    if (!line.empty()) fprintf(stderr, "rrx: %s\n", line.c_str());
  }
  summary.event_count = seq_;
  summary.exit_status = root_status_;
  summary.ended_by_signal = user_end_signal();
  if (!writer_->finish(summary, &result.error)) return result;
  result.ok = true;
  result.wait_status = root_status_;
  return result;
}

void Recorder::handle(RecordTask& t, const Stop& stop) {
  if (buffering_ && !t.buffer && stop.kind != StopKind::kExited) adopt_buffer(t);
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
      // A real group stop (SIGSTOP, SIGTSTP, ...): the thread stays
      // stopped, as in the kernel, until SIGCONT (or SIGKILL) wakes it; a
      // parent waiting for the stop may rely on that (strace does).
      if (is_stop_signal(stop.sig)) {
        ptrace(PTRACE_LISTEN, t.task->tid(), nullptr, nullptr);
        return;
      }
      resume_task(t);
      break;
    case StopKind::kVforkDone:
      if (!stop_at_event_for_tracer(t, PTRACE_EVENT_VFORK_DONE, t.task->event_msg())) resume_task(t);
      break;
    case StopKind::kExiting:
      if (!stop_at_event_for_tracer(t, PTRACE_EVENT_EXIT, t.task->event_msg())) {
        resume_task(t);
        let_threads_outlive_leader(t);
      }
      break;
  }
}

void Recorder::on_syscall_entry(RecordTask& t) {
  Registers regs;
  t.task->get_regs(&regs);
  int nr = static_cast<int>(regs.orig_rax);
  // `syscall` leaves its return address in %rcx. A call that did not (int
  // $0x80 or sysenter) went to the 32-bit table, whose numbers and argument
  // registers differ. (The vsyscall page's calls are the kernel's own
  // emulation.)
  constexpr uint64_t kVsyscallPage = 0xffffffffff600000;
  if (regs.rcx != regs.rip && (regs.rip & ~uint64_t{0xfff}) != kVsyscallPage) {
    fail("unsupported 32-bit system call " + std::to_string(nr) + " (int $0x80) in process " +
         std::to_string(t.task->tid()) + "; recording stopped");
    return;
  }
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
  t.deny_errno = 0;
  t.unsupported_if_succeeds.clear();
  if (nr == SYS_process_vm_writev) {  // into its own process only (the table's outputs)
    auto target = tasks_.find(static_cast<pid_t>(args[0]));
    if (target == tasks_.end() || target->second.tgid != t.tgid) {
      t.unsupported_if_succeeds = "process_vm_writev into process " + std::to_string(args[0]);
    }
  }
  if (desc->record == RecordPolicy::kDenyENOSYS) {
    t.deny_errno = ENOSYS;
    // (A number no kernel has gets ENOSYS natively too: nothing to say.)
    if (desc->number >= 0 && warned_.insert(desc->name).second && strcmp(desc->name, "rseq") != 0) {
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
    if (verdict.kind == EntryVerdict::kUnlessItFails) t.unsupported_if_succeeds = verdict.what;
  }
  if (!t.deny_errno && installs_program_filter(t.call)) install_program_filter(t, regs);
  t.size_before = t.deny_errno ? -1 : mapped_files_.size_before(*t.task, t.tgid, *desc, t.call);
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSyscallEntry;
  event.regs = regs;
  event.syscall_no = nr;
  emit(event);
  if (!t.deny_errno && !strip_clone_untraced(*t.task, t.call)) {
    fail("thread " + std::to_string(t.task->tid()) + ": cannot clear CLONE_UNTRACED");
    return;
  }
  if (stop_at_syscall_for_tracer(t, TracerStop::kSyscallEntry)) return;
  continue_syscall_entry(t);
}

void Recorder::continue_syscall_entry(RecordTask& t) {
  if (t.deny_errno) {
    Registers regs;
    t.task->get_regs(&regs);
    regs.orig_rax = static_cast<uint64_t>(-1);  // the kernel skips it
    t.task->set_regs(regs);
  }
  if (t.call.number == SYS_exit) groups_[group_of(t)].exiting = t.task->tid();
  if (!t.deny_errno && emulate_set_tsc(t)) return;
  if (!t.deny_errno && emulate_for_tracer(t)) return;  // ptrace, a tracer's wait
  // Writes to our stdout/stderr go into the kernel one at a time, so the
  // order of their exit events, in which replay shows them, is the order in
  // which they reached the output. (Two threads in write(2) at once finish
  // in an order of the kernel's that their exit stops need not follow.)
  t.sink = t.deny_errno ? 0 : writes_to_sink(*t.task, *t.desc, t.call, sinks_);
  if (t.sink) {
    if (sink_writer_ != 0) {
      held_sink_writes_.push_back(t.task->tid());
      return;
    }
    sink_writer_ = t.task->tid();
  }
  resume_task(t);
}

// The write to our output in the kernel is done (or its thread is gone):
// the next held one goes in.
void Recorder::end_sink_write(pid_t tid) {
  held_sink_writes_.erase(std::remove(held_sink_writes_.begin(), held_sink_writes_.end(), tid),
                          held_sink_writes_.end());
  if (tid != sink_writer_) return;
  sink_writer_ = 0;
  if (held_sink_writes_.empty()) return;
  sink_writer_ = held_sink_writes_.front();
  held_sink_writes_.pop_front();
  resume_task(tasks_.at(sink_writer_));
}

// The program's seccomp filter goes in for real, behind rrx's prefix
// (core/seccomp_filter.h): the call gets the prefixed copy instead.
void Recorder::install_program_filter(RecordTask& t, const Registers& regs) {
  std::string err;
  uint64_t filter = write_prefixed_program_filter(*t.task, t.call, &err);
  if (!filter && err.empty()) return;  // unreadable: the kernel's EFAULT
  if (!filter) {
    if (warned_.insert(err).second) fprintf(stderr, "rrx: warning: %s; the program got EINVAL\n", err.c_str());
    t.deny_errno = EINVAL;
    return;
  }
  Registers with_copy = regs;  // (the entry event keeps the program's)
  with_copy.rdx = filter;
  t.task->set_regs(with_copy);
}

void Recorder::on_syscall_exit(RecordTask& t) {
  end_sink_write(t.task->tid());
  Registers regs;
  t.task->get_regs(&regs);
  Event event;
  event.tid = t.task->tid();
  event.kind = EventKind::kSyscallExit;
  // Code that became executable here, to instrument after the event.
  std::pair<uint64_t, uint64_t> code_range = {0, 0};

  if (t.exec_exit_pending) {
    // The new image has run no instruction yet.
    t.exec_exit_pending = false;
    std::string err;
    if (!setup_at_exec_exit(*t.task, exec_setup(), &err)) {
      fail("process " + std::to_string(t.task->tid()) + ": " + err);
      return;
    }
    if (self_filtered_.count(t.tgid)) {  // the filter stays
      trace_all_calls(*t.task);
      t.task->untraced_syscall = 0;
    }
    segv_dispositions_.at_exec(t.tgid, t.task->tid(), *t.task);
    if (buffering_) {
      MemWrite answers;
      if (cpuid_answers_.give(*t.task, &answers)) event.writes.push_back(std::move(answers));
    }
    event.syscall_no = t.desc ? t.call.number : SYS_execve;
    code_range = {0, ~uint64_t{0}};
  } else if (t.desc) {
    event.syscall_no = t.call.number;
    if (t.deny_errno || t.emulated_result) {
      regs.rax = t.deny_errno ? static_cast<uint64_t>(-t.deny_errno) : *t.emulated_result;
      regs.orig_rax = t.call.number;
      t.task->set_regs(regs);
      t.emulated_result.reset();
    }
    if (t.call.number == RRX_CALL_NOTIFY) take_notify_result(t, &regs);
    if (t.call.number == SYS_prctl && t.call.args[0] == PR_GET_SECCOMP && buffering_ &&
        !self_filtered_.count(t.tgid) && regs.rax == SECCOMP_MODE_FILTER) {
      // The filter is the buffering's own, not the program's: no seccomp
      // mode, as without rrx (replay takes the recorded result).
      regs.rax = SECCOMP_MODE_DISABLED;
      t.task->set_regs(regs);
    }
    if (t.call.number == SYS_arch_prctl && t.call.args[0] == ARCH_SET_FS) {
      t.buffer = 0;  // another thread pointer: the engine's buffer for it, if any
      uint64_t moved;
      if (buffering_ && !is_syscall_error(regs.rax) &&
          move_buffer_to_thread_pointer(*t.task, t.call.args[1], &moved)) {
        auto& buffers = thread_buffers_[t.tgid];
        buffers.erase(0);
        buffers[t.call.args[1]] = moved;
        t.buffer = moved;
      }
    }
    t.call.result = static_cast<int64_t>(regs.rax);
    show_program_tsc_mode(t, t.call.result);
    segv_dispositions_.at_syscall_exit(t.tgid, t.task->tid(), t.call, t.call.result, *t.task);
    if (!t.unsupported_if_succeeds.empty() && !is_syscall_error(regs.rax)) {
      fail("unsupported " + t.unsupported_if_succeeds + " in process " +
           std::to_string(t.task->tid()) + " (it succeeded: rrx cannot tell what it changed); " +
           "recording stopped");
      return;
    }
    if (installs_program_filter(t.call) && !t.deny_errno) {
      regs.rdx = t.call.args[2];  // the program's own filter pointer back
      t.task->set_regs(regs);
      if (buffering_ && !is_syscall_error(regs.rax)) {
        self_filtered_.insert(t.tgid);
        trace_all_calls(*t.task);
      }
      // rrx's injected calls go through the program's filter too now
      // (with TSYNC, every thread's): back to the gadget its prefix lets by.
      if (!is_syscall_error(regs.rax)) {
        for (auto& [tid, other] : tasks_) {
          if (other.tgid == t.tgid && other.task) other.task->untraced_syscall = 0;
        }
      }
    }
    std::vector<MemRegion> regions;
    if (t.desc->outputs && !t.deny_errno) t.desc->outputs(t.call, *t.task, regions);
    if (!t.sink && !t.deny_errno) note_proc_mem_write(t, &regions);
    for (const MemRegion& r : regions) {
      MemWrite w;
      w.addr = r.addr;
      w.data.resize(r.len);
      if (t.task->read_mem(r.addr, w.data.data(), r.len)) event.writes.push_back(std::move(w));
    }
    capture_fd_write(*t.task, *t.desc, t.call, t.sink, &event);
    if (event.echo_fd) {
      uint32_t& crc = echo_crc_[event.echo_fd - 1];
      event.echo_crc = crc = crc32(event.echo_data.data(), event.echo_data.size(), crc);
    }
    if (!t.deny_errno) {
      mapped_files_.changed_memory(*t.task, t.tgid, *t.desc, t.call, t.size_before, &event.writes,
                                   &event.shrunk_file);
    }
    if (t.desc->replay == ReplayAction::kMmap && !is_syscall_error(regs.rax) &&
        (t.call.args[3] & MAP_SHARED) && (t.call.args[2] & PROT_WRITE)) {
      start_sharing_memory();
    }
    if (t.desc->replay == ReplayAction::kShmat && !is_syscall_error(regs.rax) && !t.deny_errno) {
      segments_.on_attach(*t.task, static_cast<int>(t.call.args[0]), regs.rax, &event);
      start_sharing_memory();
    }
    if (instrumenter_ && t.call.number == SYS_munmap && !is_syscall_error(regs.rax)) {
      instrumenter_->on_unmap(t.tgid, t.call.args[0], t.call.args[0] + t.call.args[1]);
    }
    bool maps_code = (t.desc->replay == ReplayAction::kMmap && !(t.call.args[3] & MAP_ANONYMOUS)) ||
                     t.call.number == SYS_mprotect;
    if (maps_code && (t.call.args[2] & PROT_EXEC) && !is_syscall_error(regs.rax) && !t.deny_errno) {
      uint64_t start = t.call.number == SYS_mprotect ? t.call.args[0] : regs.rax;
      code_range = {start, start + t.call.args[1]};
    }
    if (t.desc->replay == ReplayAction::kMmap && !t.deny_errno) {
      std::string err;
      if (!capture_mapped_file(*t.task, t.call, *writer_, &event, &err)) {
        fail(err);
        return;
      }
      if (event.has_mapped_file && t.call.number == SYS_mmap) {
        mapped_files_.on_mmap(*t.task, t.tgid, static_cast<int>(t.call.args[4]), buffering_);
      }
    }
  } else {
    // A syscall exit with no entry we saw: only the first exec can be one.
    event.syscall_no = static_cast<int>(regs.orig_rax);
  }
  if (buffering_ && !t.buffer) give_buffer_if_wanted(t, regs, &event);
  event.regs = regs;
  emit(event);
  t.desc = nullptr;
  t.have_exit_regs = true;
  t.exit_regs = regs;
  if (code_range.second > code_range.first) instrument_code(t, code_range.first, code_range.second);
  if (stop_at_syscall_for_tracer(t, TracerStop::kSyscallExit)) return;
  continue_syscall_exit(t);
}

void Recorder::continue_syscall_exit(RecordTask& t) {
  const Registers& regs = t.exit_regs;
  int sig = 0;
  // Inside the buffering code only its notify call and the calls it makes
  // for the program take signals: a handler run elsewhere there (at the
  // exit of the buffer's announcement, before the preload library records
  // it) would find no buffer and set up another.
  bool may_deliver = !in_buffer_code(t, regs.rip) || regs.orig_rax == RRX_CALL_NOTIFY ||
                     at_program_call_exit(t, regs);
  if (!t.deferred.empty() && !may_deliver) {
    set_buffer_notify(t, true);  // a buffer announced here starts without it
  } else if (!t.deferred.empty()) {
    // Resuming a syscall-exit stop with a signal queues it; it is delivered
    // before the thread runs another instruction (see on_signal).
    sig = t.deferred.front().si_signo;
    t.delivering_deferred = true;
  }
  resume_task(t, sig);
}

// Patches the code mapped in [lo, hi) of t's process to count ticks, as an
// event of its own right after the stop's event (replay repeats it there).
void Recorder::instrument_code(RecordTask& t, uint64_t lo, uint64_t hi) {
  if (!instrumenter_) return;
  std::vector<Event> events;
  std::string err;
  if (!instrumenter_->instrument(*t.task, t.tgid, lo, hi, &events, &err)) {
    fail(err);
    return;
  }
  for (Event& event : events) emit(event);
}

pid_t Recorder::take_over_leader(RecordTask& leader) {
  pid_t tid = leader.task->tid();
  auto former = tasks_.find(static_cast<pid_t>(leader.task->event_msg()));
  if (former == tasks_.end() || former->first == tid) return tid;
  pid_t former_tid = former->first;
  // The kernel killed the old leader without an exit report; its tid now
  // names the exec'ing thread, whose syscall state (inside execve) is kept.
  RecordTask successor = std::move(former->second);
  // Hardware ticks: the count goes on from the exec'ing thread's.
  carry_ticks(*successor.task, *leader.task);
  successor.task = std::move(leader.task);
  successor.stop_kind = leader.stop_kind;
  tasks_.erase(former);
  ThreadGroup& group = groups_[leader.tgid];
  std::erase_if(group.waiting, [&](const auto& w) { return w.first == tid; });
  leader = std::move(successor);
  return former_tid;
}

void Recorder::on_exec(RecordTask& t) {
  pid_t tid = t.task->tid();
  pid_t exec_tid = take_over_leader(t);
  std::string exe_path = "/proc/" + std::to_string(tid) + "/exe";
  char exe[4096];
  ssize_t len = readlink(exe_path.c_str(), exe, sizeof exe - 1);
  std::string exe_name = len > 0 ? std::string(exe, len) : "";
  std::string err = exe_name.empty() ? "" : why_not_recordable(exe_name);
  if (!err.empty()) {
    fail("process " + std::to_string(tid) + " ran " + err);
    return;
  }
  // The kernel does not raise privileges for a traced exec.
  struct stat exe_st;
  if (stat(exe_path.c_str(), &exe_st) == 0 && (exe_st.st_mode & (S_ISUID | S_ISGID)) &&
      warned_.insert(exe_name).second) {
    fprintf(stderr,
            "rrx: warning: '%s' is set-user-ID or set-group-ID; it runs without those "
            "privileges while recorded\n",
            printable(exe_name).c_str());
  }
  if (instrumenter_) instrumenter_->on_exec(t.tgid);
  mapped_files_.forget(t.tgid);
  // First: it reopens the memory of the new image, read below.
  if (!setup_at_exec_event(*t.task, buffering_, &err)) {
    fail("process " + std::to_string(tid) + ": " + err);
    return;
  }
  t.buffer = 0;  // gone with the old image
  thread_buffers_.erase(t.tgid);
  Event event;
  event.tid = exec_tid;
  if (exec_tid != tid) event.leader_tid = tid;
  event.kind = EventKind::kExec;
  t.task->get_regs(&event.regs);

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
  if (stop_at_event_for_tracer(t, PTRACE_EVENT_EXEC, exec_tid)) return;
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
  if (!c.task) c.task = std::make_unique<Task>(child, &tick_counters_);
  c.task->syscall_gadget = t.task->syscall_gadget;  // the same vdso
  c.task->untraced_syscall = t.task->untraced_syscall;  // and filters
  c.tgid = (event.clone_flags & CLONE_THREAD) ? t.tgid : child;
  c.parent_tgid = (event.clone_flags & (CLONE_THREAD | CLONE_PARENT)) ? t.parent_tgid : t.tgid;
  // A forked child keeps the parent thread's thread pointer, so it uses
  // the copy of its buffer (vfork: the buffer itself); a thread finds the
  // one for its thread pointer at its first stop (adopt_buffer).
  c.buffer = (event.clone_flags & CLONE_THREAD) ? 0 : t.buffer;
  if (!(event.clone_flags & CLONE_THREAD) && thread_buffers_.count(t.tgid)) {
    thread_buffers_[child] = thread_buffers_[t.tgid];
  }
  if (!(event.clone_flags & CLONE_THREAD) && self_filtered_.count(t.tgid)) self_filtered_.insert(child);
  if (!(event.clone_flags & CLONE_THREAD)) inherit_tsc_mode(t.tgid, child);
  segv_dispositions_.on_new_task(t.tgid, t.task->tid(), c.tgid, child);
  c.announced = true;
  if (!(event.clone_flags & CLONE_THREAD)) {
    if (instrumenter_) instrumenter_->on_new_process(t.tgid, child, event.clone_flags & CLONE_VM);
    mapped_files_.on_fork(t.tgid, child);
  }
  inherit_tracer(t, c, stop.event);
  start_if_ready(c);
  if (!stop_at_event_for_tracer(t, stop.event, child)) resume_task(t);
}

// A process's leader that ends (SYS_exit) before its other threads is
// reported only after the last of them: they run on once it is a zombie.
void Recorder::let_threads_outlive_leader(RecordTask& t) {
  pid_t tid = t.task->tid();
  ThreadGroup& group = groups_[group_of(t)];
  if (tid != t.tgid || group.exiting != tid || !alive_threads_besides(t)) return;
  wait_until_zombie(tid);
  group.exiting = 0;
}

void Recorder::on_exited(RecordTask& t, int status) {
  pid_t tid = t.task->tid();
  segv_dispositions_.on_exit(t.tgid, tid);
  end_sink_write(tid);
  Event event;
  event.tid = tid;
  event.kind = EventKind::kExit;
  event.exit_status = status;
  emit(event);
  if (tid == root_) {
    root_status_ = status;
    root_exited_ = true;
  }
  if (tid == t.tgid) {
    // What a process did is on its way to disk once it is gone.
    std::string err;
    if (!writer_->flush_events(&err)) fail(err);
    if (instrumenter_) instrumenter_->on_process_gone(tid);
    mapped_files_.forget(tid);
  }
  ThreadGroup& group = groups_[group_of(t)];
  if (group.running == tid) group.running = 0;
  if (group.exiting == tid) group.exiting = 0;
  ptrace_on_exit(t, status);
  tasks_.erase(tid);
}

std::vector<int32_t> Recorder::left_running() const {
  std::set<int32_t> pids;
  for (const auto& [tid, t] : tasks_) pids.insert(t.tgid);
  if (pids.empty()) return {};
  std::string names;
  for (int32_t pid : pids) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    names += (names.empty() ? " " : ", ") + std::to_string(pid) + " (" + printable(name) + ")";
  }
  fprintf(stderr,
          "rrx: the recorded program exited; %zu process%s it left running %s killed:%s "
          "(rrx record --wait-all records until they end)\n",
          pids.size(), pids.size() == 1 ? "" : "es", pids.size() == 1 ? "was" : "were",
          names.c_str());
  return {pids.begin(), pids.end()};
}

RecordResult record(const RecordOptions& options) {
  RecordResult result;
  auto writer = TraceWriter::create(options.trace_dir, &result.error);
  if (!writer) return result;
  TraceWriter& trace = *writer;
  Recorder recorder(std::move(writer), options);
  result = recorder.run(options);
  if (!result.ok) trace.discard_if_unstarted();
  return result;
}

}  // namespace rrx
