// What a trace directory occupies, and whether it depends on files outside
// it (saved files hardlinked to their originals: `rrx pack` copies them).
#pragma once

#include <cstdint>
#include <string>

namespace rrx {

struct TraceUsage {
  uint64_t events_bytes = 0;   // the event stream
  uint64_t files_bytes = 0;    // files/, each inode counted once
  uint64_t total_bytes = 0;    // everything in the directory, each inode once
  uint64_t saved_files = 0;    // names under files/
  // Saved files whose inode also has names outside the trace: they change
  // when their original is modified in place.
  uint64_t linked_outside = 0;
  uint64_t linked_outside_bytes = 0;
};

// Walks `dir` (not following symbolic links). False + *error if it cannot.
bool measure_trace(const std::string& dir, TraceUsage* out, std::string* error);

}  // namespace rrx
