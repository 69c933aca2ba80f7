// CLONE_UNTRACED keeps a new task from being traced even with
// PTRACE_O_TRACECLONE: its child would run unrecorded, and in replay run
// free. rrx takes the flag off a clone or clone3 at its entry stop (the
// recorded entry keeps the program's registers), in record and in replay.
#pragma once

#include "core/task.h"
#include "syscalls/syscall_table.h"

namespace rrx {

// At the entry stop of `call` (clone or clone3): clears CLONE_UNTRACED in
// the flags the kernel is about to read. False if they could not be
// changed.
bool strip_clone_untraced(Task& task, const SyscallCall& call);

}  // namespace rrx
