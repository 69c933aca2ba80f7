// What rrx does to every freshly exec'd process, identically when
// recording and replaying, so both see the same address space.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "core/task.h"

namespace rrx {

// At the exec event: the new address space is there, no instruction has
// run. Reopens its memory and patches the vdso's clock functions (to go
// through the buffering engine when `buffering`).
bool setup_at_exec_event(Task& task, bool buffering, std::string* error);

// What a recording uses, so every new image gets it.
struct ExecSetup {
  bool cpuid_faulting = false;
  bool soft_ticks = false;
  // RRX_MODE_RECORD / RRX_MODE_REPLAY when the recording buffers syscalls
  // (the preload page is mapped), else RRX_MODE_OFF.
  uint32_t preload_mode = 0;
  const struct stat* sinks = nullptr;  // recording: our stdout and stderr
};

// At the execve exit stop that follows: re-arms cpuid faulting (exec turns
// it off), maps the soft tick page and the preload page, as `setup` says.
bool setup_at_exec_exit(Task& task, const ExecSetup& setup, std::string* error);

}  // namespace rrx
