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
// Sets task.untraced_syscall: the caller clears it again if a seccomp
// filter of the program's is in force.
bool map_preload_page(Task& task, uint32_t mode, const struct stat* sinks = nullptr);

// Whether the engine in `task`'s process asks for a buffer for thread
// pointer `fs` (syscallbuf_abi.h, THE PER-THREAD BUFFER).
bool buffer_wanted(Task& task, uint64_t fs);

// Maps a syscall buffer into `task`'s process (at a stop where an injected
// syscall may run) and enters it in the engine's table for thread pointer
// `fs`: where the kernel puts it (*addr 0, set on return) or exactly at
// *addr (replay).
bool give_thread_buffer(Task& task, uint64_t fs, uint64_t* addr);

// At the exit of `task`'s successful arch_prctl(ARCH_SET_FS, fs): the
// buffer of thread pointer 0 (the loader's or static start-up's first calls,
// made before the thread had one) becomes thread pointer `fs`'s, unless
// `fs` has one already (syscallbuf_abi.h, THE PER-THREAD BUFFER), in
// recording and replay alike. Its address in *buffer if it moved.
bool move_buffer_to_thread_pointer(Task& task, uint64_t fs, uint64_t* buffer);

// Recording: the engine in `task`'s process buffers no more calls (the
// process has a seccomp filter of its own).
bool trace_all_calls(Task& task);

}  // namespace rrx
