// The soft tick counter of programs built with our GCC plugin (see
// backend/ticks/tick_page.h): a page at a fixed address that instrumented
// code counts conditional branches into, and that traps when the count
// reaches a target. rrx maps it into every process at exec, in recording
// and replay alike; uninstrumented programs never touch it.
#pragma once

#include <cstdint>
#include <string>

#include "core/task.h"

namespace rrx {

// Maps and initialises the page in a freshly exec'd `task` (at a stop where
// an injected syscall may run). False if the address is taken.
bool map_tick_page(Task& task);

// The thread's count so far (0 if the page is missing).
uint64_t read_ticks(const Task& task);
// Makes the program trap (SIGTRAP, see is_tick_trap) once its count
// reaches `target`; UINT64_MAX disarms.
bool set_tick_target(Task& task, uint64_t target);
// Maps a dynamic tick patch (instrument/patch_file.h) into `task`: the
// file's first code_len bytes over the program's code at code_addr
// (replacing that mapping), the next stubs_len bytes at stubs_addr (never
// over another mapping). Private, read+exec. False if the task cannot
// open the file or a mapping lands elsewhere.
bool map_tick_patch(Task& task, const std::string& path, uint64_t code_addr, uint64_t code_len,
                    uint64_t stubs_addr, uint64_t stubs_len);

// At a SIGTRAP: whether it is the counter's trap. Clears the trap flag and
// disarms the target if so.
bool take_tick_trap(Task& task);

}  // namespace rrx
