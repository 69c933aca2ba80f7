// SysV shared memory in a recording: what replay needs to attach a segment
// of its own where the recorded program attached one (replay/
// replay_segments.h).
#pragma once

#include <set>

#include "core/task.h"
#include "trace/event.h"

namespace rrx {

class RecordedSegments {
 public:
  // At the exit of a successful shmat of segment `shmid` at `addr`: puts
  // the segment's size in the event and, the first time the recording
  // meets the segment, its pages that are not all zeros (whatever made it
  // before, maybe a process not recorded). Later contents come from the
  // recorded processes' own writes.
  void on_attach(Task& task, int shmid, uint64_t addr, Event* event);

 private:
  std::set<int> seen_;
};

}  // namespace rrx
