// ReplaySession::track_fds: the recorded fd tables (replay/fd_table.h)
// follow the events as they are replayed.
#include "replay/replay_session.h"
#include "replay/replay_task.h"

namespace rrx {

void ReplaySession::track_fds(const Event& e) {
  auto it = tasks_.find(e.tid);
  Task* task = it == tasks_.end() ? nullptr : it->second->task.get();
  FdTables::StringReader read_string = [task](uint64_t addr) {
    return task ? task->read_string(addr) : std::string();
  };
  FdTables::MemReader read_mem = [task](uint64_t addr, void* buf, size_t len) {
    return task && task->read_mem(addr, buf, len);
  };
  if (e.kind == EventKind::kBufferFlush) {
    // The calls run before the thread's next event; their paths are read
    // from memory then (they still name what they named, unless the
    // program reused the buffer in the meantime).
    std::vector<BufferedCall> calls;
    if (it != tasks_.end() && !e.writes.empty() && decode_buffered_records(e.writes[0].data, &calls)) {
      auto& pending = it->second->uncounted_calls;
      pending.insert(pending.end(), calls.begin(), calls.end());
    }
    return;
  }
  if (e.kind == EventKind::kInstrument || e.kind == EventKind::kTracerChange) return;
  if (it != tasks_.end()) {
    for (const BufferedCall& c : it->second->uncounted_calls) {
      fds_.syscall(e.tid, c.nr, c.args, c.result, read_string, read_mem);
    }
    it->second->uncounted_calls.clear();
  }
  switch (e.kind) {
    case EventKind::kSyscallExit: {
      const Registers& r = e.regs;
      uint64_t args[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
      fds_.syscall(e.tid, e.syscall_no, args, static_cast<int64_t>(r.rax), read_string, read_mem);
      break;
    }
    case EventKind::kNewTask: fds_.new_task(e.tid, e.new_tid, e.clone_flags); break;
    case EventKind::kExec: fds_.exec(e.tid, e.leader_tid ? e.leader_tid : e.tid); break;
    case EventKind::kExit: fds_.exit(e.tid); break;
    default: break;
  }
}

}  // namespace rrx
