// Replaces the vdso's time functions with real syscalls, so every clock
// read is a syscall that recording can capture and replay can feed; when
// syscalls are buffered, through the buffering engine like a patched
// syscall site (backend/preload/syscallbuf_abi.h, THE SITE ENTRY).
#pragma once

#include "core/task.h"

namespace rrx {

// Patches the vdso of a freshly exec'd `task` and sets task.syscall_gadget
// to a `syscall` instruction inside it. Returns false (with *error) if the
// vdso cannot be found or parsed.
bool patch_vdso(Task& task, bool buffering, std::string* error);

}  // namespace rrx
