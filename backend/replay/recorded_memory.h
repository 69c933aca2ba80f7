// Putting memory the recording saw back into the replayed process.
#pragma once

#include "core/task.h"
#include "trace/event.h"

namespace rrx {

// Writes recorded bytes into the memory of `task`'s process. Where that is
// a shared file mapping the process may not write (the kernel refuses even
// a tracer there), the bytes go into the file behind it, which in replay
// is rrx's own copy (shared_file_copies.h). False if neither works.
bool write_recorded_memory(Task& task, const MemWrite& w);

// A file the recorded process mapped shared was shrunk to `shrunk.len`
// bytes: shrinks the file behind the mapping at `shrunk.addr` (rrx's own
// copy) the same, so its pages past the end fault as they did. False if
// there is no such mapping or the file cannot be shrunk.
bool shrink_mapped_file(Task& task, const MemRange& shrunk);

}  // namespace rrx
