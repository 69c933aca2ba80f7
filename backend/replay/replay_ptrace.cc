// Replaying what a recorded program's ptrace did to a thread it traced
// (the recorder emulated that tracer: record/emulated_ptrace.h). The tracer
// itself needs nothing: its ptrace and wait calls are emulated syscalls
// whose results and outputs the trace holds. The tracee sits at the stop it
// sat in for its tracer (its last event put it there) while:
//   - the tracer changes its memory or registers (tracer-change events);
//   - the tracer resumes it with a signal (a signal event `injected`),
//     delivered from that stop.
#include "replay/replay_session.h"

#include <signal.h>

#include <cstring>

#include "core/registers.h"
#include "core/stop.h"
#include "replay/recorded_memory.h"
#include "replay/replay_task.h"

namespace rrx {

ReplaySession::StepResult ReplaySession::replay_tracer_change(ReplayTask& t, Event& e) {
  if (!t.stopped) return diverged(e, "the thread is not stopped for its tracer");
  for (const MemWrite& w : e.writes) {
    if (!write_recorded_memory(*t.task, w)) return diverged(e, "cannot write what its tracer poked");
  }
  for (const MemWrite& w : e.writes) {
    if (is_debugged(t)) breakpoints_.refresh(*t.task, w.addr, w.addr + w.data.size());
    displaced_.forget(t.tgid, w.addr, w.addr + w.data.size());
  }
  Registers now, regs = e.regs;
  if (!t.task->get_regs(&now)) return diverged(e, "cannot read the registers");
  // At a syscall entry replay's own orig_rax says whether the kernel runs
  // the call (-1 for emulated ones): the tracer's change leaves that alone.
  if (t.stop_kind == StopKind::kSyscallEntry) regs.orig_rax = now.orig_rax;
  if (!t.task->set_regs(regs)) return diverged(e, "cannot set the registers its tracer set");
  return StepResult::kEvent;
}

ReplaySession::StepResult ReplaySession::replay_injected_signal(ReplayTask& t, Event& e) {
  if (!t.stopped) return diverged(e, "the thread is not stopped for its tracer");
  Registers regs;
  t.task->get_regs(&regs);
  std::string diff = diff_registers(e.regs, regs);
  if (!diff.empty()) return diverged(e, "where its tracer resumed it, " + diff);
  if (e.siginfo.size() == sizeof(siginfo_t)) {
    siginfo_t info;
    memcpy(&info, e.siginfo.data(), sizeof info);
    t.task->set_siginfo(info);
  }
  t.resume_sig = e.signo;
  return StepResult::kEvent;
}

}  // namespace rrx
