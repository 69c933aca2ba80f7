// Hardware ticks in the recording: every event at which its thread stands
// still carries the thread's count, so replay notices a count that drifted
// at the first event after it (docs/trace-format.md, ticksAtEvent).
#include "record/recorder.h"

#include "core/tick_counter.h"

namespace rrx {

void Recorder::note_ticks(Event& event) {
  switch (event.kind) {
    case EventKind::kSyscallEntry:
    case EventKind::kSyscallExit:
    case EventKind::kSignal:
    case EventKind::kSchedule:
    case EventKind::kInstruction:
      break;
    default:
      return;
  }
  auto it = tasks_.find(event.tid);
  if (it == tasks_.end() || !it->second.task) return;
  event.ticks_at_event = read_ticks(*it->second.task);
  if (!tick_counters_.failure.empty()) fail(tick_counters_.failure);
}

}  // namespace rrx
