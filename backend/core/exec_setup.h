// What rrx does to every freshly exec'd process, identically when
// recording and replaying, so both see the same address space.
#pragma once

#include <string>

#include "core/task.h"

namespace rrx {

// At the exec event: the new address space is there, no instruction has
// run. Reopens its memory and patches the vdso's clock functions.
bool setup_at_exec_event(Task& task, std::string* error);

// At the execve exit stop that follows: re-arms cpuid faulting (exec turns
// it off) when the recording uses it, and maps the soft tick page when the
// recording uses soft ticks.
bool setup_at_exec_exit(Task& task, bool cpuid_faulting, bool soft_ticks, std::string* error);

}  // namespace rrx
