// `rrx pack`: makes a trace independent of the files it was recorded from.
// Saved files that are hardlinks to their originals (TraceWriter links when
// it can) change when an original is modified in place, and do not travel
// with the trace to another file system or machine; packing replaces them
// with copies. Saved files with the same contents then share one copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/meta_files.h"

namespace rrx {

struct PackResult {
  uint64_t copied_files = 0, copied_bytes = 0;  // hardlinks replaced by copies
  uint64_t merged_files = 0, merged_bytes = 0;  // duplicates now sharing a copy
};

// Every step replaces one name with identical contents (rename over it), so
// the trace replays at every point and packing twice changes nothing. Fails
// (one line in *error) if a saved file no longer holds what was recorded:
// its original was changed in place before the trace was packed.
// `saved` is the trace's manifest (TraceReader::saved_files).
bool pack_trace(const std::string& dir, const std::vector<SavedFileInfo>& saved,
                PackResult* result, std::string* error);

}  // namespace rrx
