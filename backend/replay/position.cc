#include "replay/position.h"

#include "core/registers.h"
#include "core/tick_counter.h"
#include "replay/replay_session.h"

namespace rrx {

namespace {

constexpr size_t kStackBytes = 256;

uint64_t fnv1a(const uint8_t* data, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

}  // namespace

Position position_of(ReplaySession& session) {
  Position p;
  p.event = session.current_event();
  p.tid = session.focus();
  p.at_event = session.focus_at_event();
  Task* task = session.focus_task();
  if (!task) return p;
  task->get_regs(&p.regs);
  uint8_t stack[kStackBytes] = {};
  task->read_mem(p.regs.rsp, stack, sizeof stack);
  p.stack_hash = fnv1a(stack, sizeof stack);
  p.ticks = read_ticks(*task);
  return p;
}

bool same_position(const Position& a, const Position& b) {
  if (a.event != b.event || a.tid != b.tid || a.at_event != b.at_event) return false;
  return a.at_event || (diff_registers(a.regs, b.regs).empty() && a.stack_hash == b.stack_hash &&
                        a.ticks == b.ticks);
}

bool certainly_before(const Position& a, const Position& b) {
  if (a.event != b.event) return a.event < b.event;
  return a.at_event && !b.at_event;
}

}  // namespace rrx
