// `rrx replay -M`: each line the replayed program writes to stdout or
// stderr starts with "[rrx EVENT] ", the event that wrote it (as rr -M).
#pragma once

#include <cstdint>
#include <string>

namespace rrx {

class MarkedOutput {
 public:
  // Writes `data`, which event `event` wrote to `fd` (1 or 2), marked.
  void write(int fd, uint64_t event, const std::string& data);

 private:
  // Whether the next byte to each of stdout and stderr starts a line.
  bool at_line_start_[2] = {true, true};
};

}  // namespace rrx
