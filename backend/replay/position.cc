#include "replay/position.h"

#include "core/registers.h"
#include "core/stack_fingerprint.h"
#include "core/tick_counter.h"
#include "replay/replay_session.h"

namespace rrx {

Position quick_position_of(ReplaySession& session) {
  Position p;
  p.event = session.current_event();
  p.tid = session.focus();
  p.at_event = session.focus_at_event();
  if (Task* task = session.focus_task()) task->get_regs(&p.regs);
  return p;
}

Position position_of(ReplaySession& session) {
  Position p = quick_position_of(session);
  Task* task = session.focus_task();
  if (!task) return p;
  p.stack_hash = stack_fingerprint(*task, p.regs.rsp);
  p.ticks = read_ticks(*task);
  return p;
}

bool maybe_same_position(const Position& a, const Position& b) {
  if (a.event != b.event || a.tid != b.tid || a.at_event != b.at_event) return false;
  return a.at_event || diff_registers(a.regs, b.regs).empty();
}

bool same_position(const Position& a, const Position& b) {
  return maybe_same_position(a, b) &&
         (a.at_event || (a.stack_hash == b.stack_hash && a.ticks == b.ticks));
}

bool certainly_before(const Position& a, const Position& b) {
  if (a.event != b.event) return a.event < b.event;
  return a.at_event && !b.at_event;
}

}  // namespace rrx
