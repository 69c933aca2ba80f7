// Replay's parts that only hardware ticks need (core/hw_tick_source.h):
// their interrupt lands up to the skid after the wanted count, so a count
// is reached exactly by single steps, and every event's count is checked.
#include <signal.h>

#include <cinttypes>

#include "core/hw_tick_source.h"
#include "core/tick_counter.h"
#include "core/stop.h"
#include "core/task.h"
#include "replay/replay_session.h"
#include "replay/replay_task.h"

namespace rrx {

namespace {
// A bound on the single steps from the skid margin to the target count: a
// few instructions per branch; more means the count is not coming.
constexpr uint64_t kStepsPerBranch = 4096;
}  // namespace

// From a stop at most the skid short of `ticks`: single steps until the
// count is `ticks` (the first instruction after the branch that made it
// so, the same point every time). A debugger's breakpoint or watchpoint met
// on the way is reported to on_debugger_trap as during a run. Never steps a
// `syscall` (it would run unseen): that fails, as a count that passes the
// target does.
bool ReplaySession::step_focus_to_ticks(ReplayTask& t, uint64_t ticks,
                                        const std::function<void()>& on_debugger_trap) {
  if (!is_debugged(t)) return false;  // only a debugged thread's resume single-steps
  uint64_t now = read_ticks(*t.task);
  uint64_t budget = (ticks > now ? ticks - now : 0) * kStepsPerBranch + kStepsPerBranch;
  while (now < ticks && budget-- > 0) {
    Registers regs;
    if (!t.task->get_regs(&regs) || t.task->at_syscall_insn(regs.rip)) return false;
    t.single_step = true;
    Stop stop;
    std::string what;
    Advance a = advance(t, StopKind::kSignal, SIGTRAP, &stop, &what);
    t.single_step = false;
    if (a == Advance::kFailed) return false;
    if (a == Advance::kTrapped && trap_.kind != Trap::Kind::kStep) {
      if (on_debugger_trap) on_debugger_trap();
    } else if (on_debugger_trap && t.task->get_regs(&regs) && breakpoints_.contains(regs.rip)) {
      // Stepped onto a breakpoint: the next step runs its instruction
      // without the int3, so this is its hit.
      trap_ = {Trap::Kind::kBreakpoint, -1};
      on_debugger_trap();
    }
    now = read_ticks(*t.task);
  }
  if (now != ticks) return false;
  t.at_event = false;
  return true;
}

ReplaySession::StepResult ReplaySession::check_ticks_at_event(ReplayTask& t, const Event& e) {
  if (!hw_thread_ticks(*t.task)) return StepResult::kEvent;
  uint64_t now = read_ticks(*t.task);
  if (!tick_counters_.failure.empty()) return diverged(e, tick_counters_.failure);
  if (now == e.ticks_at_event) return StepResult::kEvent;
  return diverged(e, "the thread's hardware tick count is " + std::to_string(now) +
                         ", recorded " + std::to_string(e.ticks_at_event) +
                         " (docs/hardware-ticks.md lists the CPU quirks that cause this)");
}

}  // namespace rrx
