// The preload page (preload/syscallbuf_abi.h) of recordings that buffer
// syscalls: mapped into every process right after exec, in recording and
// replay alike.
#pragma once

#include <sys/stat.h>

#include <cstdint>

#include "core/task.h"

namespace rrx {

// Maps the page into a freshly exec'd `task` (at a stop where an injected
// syscall may run) with the preload library's mode (RRX_MODE_RECORD or
// RRX_MODE_REPLAY) and, when recording, the recorder's stdout and stderr.
bool map_preload_page(Task& task, uint32_t mode, const struct stat* sinks = nullptr);

}  // namespace rrx
