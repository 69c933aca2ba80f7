#include "trace/event.h"

namespace rrx {

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kSyscallEntry: return "syscall-entry";
    case EventKind::kSyscallExit: return "syscall-exit";
    case EventKind::kSignal: return "signal";
    case EventKind::kExec: return "exec";
    case EventKind::kNewTask: return "new-task";
    case EventKind::kInstruction: return "instruction";
    case EventKind::kExit: return "exit";
    case EventKind::kSchedule: return "schedule";
    case EventKind::kBufferFlush: return "buffer-flush";
    case EventKind::kInstrument: return "instrument";
    case EventKind::kTracerChange: return "tracer-change";
  }
  return "unknown";
}

}  // namespace rrx
