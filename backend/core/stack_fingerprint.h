// A fingerprint of the top of a thread's stack. With its registers, it
// names a point in the thread's execution where no tick count does: an -O0
// loop's counters and the return addresses of the innermost frames live
// there.
#pragma once

#include <cstdint>

#include "core/task.h"

namespace rrx {

// FNV-1a of the 256 bytes at `rsp` (zeros where unreadable).
uint64_t stack_fingerprint(const Task& task, uint64_t rsp);

}  // namespace rrx
