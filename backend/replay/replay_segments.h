// Replay's own SysV shared memory segments, standing for the recorded ones
// (record/sysv_segments.h): each recorded segment id gets one, made on its
// first attach with the contents the trace saved, and attached where the
// recorded one was; all are removed when the replay ends.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trace/event.h"

namespace rrx {

class ReplaySegments {
 public:
  ReplaySegments() = default;
  ReplaySegments(const ReplaySegments&) = delete;
  ReplaySegments& operator=(const ReplaySegments&) = delete;
  ~ReplaySegments();

  // The id of replay's segment for recorded segment `shmid`, whose recorded
  // attach (`attach`: the shmat exit event) put it at attach.regs.rax; -1
  // with *error if it cannot be made.
  int segment_for(int shmid, const Event& attach, std::string* error);

 private:
  std::map<int, int> ids_;  // recorded id -> replay's
};

}  // namespace rrx
