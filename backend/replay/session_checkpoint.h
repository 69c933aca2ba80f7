// A saved replay state: a stopped fork of every replayed process plus the
// session's own bookkeeping at that moment.
#pragma once

#include <sys/types.h>

#include <deque>
#include <map>

#include "core/segv_disposition.h"
#include "replay/fd_table.h"
#include "replay/replay_task.h"
#include "trace/trace_reader.h"

namespace rrx {

struct SessionCheckpoint {
  struct TaskCopy {
    ReplayTaskState state;
    pid_t pid = 0;        // the stopped copy; never runs, only forked again
    uint64_t gadget = 0;  // its syscall instruction for injected syscalls
    uint64_t ticks = 0;   // hardware ticks: the thread's count when copied
  };
  std::map<int32_t, TaskCopy> tasks;  // by recorded tid
  uint64_t seq = 0;
  uint64_t micros = 0;  // the event's time (ReplaySession::current_event_micros)
  std::deque<Event> lookahead;
  TraceReader::Position reader_position;
  int32_t focus = 0;
  FdTables fds;
  SegvDispositions segv_dispositions;

  SessionCheckpoint() = default;
  SessionCheckpoint(const SessionCheckpoint&) = delete;
  SessionCheckpoint& operator=(const SessionCheckpoint&) = delete;
  ~SessionCheckpoint();  // kills the copies
};

// Makes `task` fork (an injected fork syscall) and returns the child, a
// stopped copy with `task`'s registers; -1 and *error on failure. `task`
// must be at a stop where an injected syscall may run.
pid_t fork_stopped_copy(Task& task, std::string* error);

}  // namespace rrx
