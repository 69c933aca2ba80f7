// The replay's view of one recorded thread.
#pragma once

#include <memory>

#include "core/stop.h"
#include "core/task.h"
#include "instrument/patch_set.h"
#include "replay/displaced_steps.h"
#include "syscalls/buffered_records.h"
#include "syscalls/syscall_table.h"
#include "trace/event.h"

namespace rrx {

// Everything about a replayed thread except the live process itself:
// checkpoints copy this and attach it to a fork of the process.
struct ReplayTaskState {
  int32_t tid = 0;           // recorded tid
  int32_t tgid = 0;          // recorded thread group (process) id
  bool stopped = true;       // at a ptrace stop we have not resumed from
  StopKind stop_kind = StopKind::kGroupStop;
  int resume_sig = 0;        // signal to deliver when resumed
  bool exec_exit_pending = false;  // setup_at_exec_exit due at execve exit
  // The syscall the thread is inside and what replay does with it.
  const SyscallDesc* desc = nullptr;
  SyscallCall call;
  bool emulated = false;
  // Kept at the entry of its execve while other threads of its process
  // still have recorded events: the exec would kill them early (released
  // by the first of their exits, which the exec caused when recorded).
  bool exec_held = false;
  // Kept at the entry of its exit_group while other threads of its
  // process may still have recorded events (they ran on while the
  // recorder held it there): released by the first exit in the process.
  bool group_exit_held = false;
  // Stopped at the exit of that (emulated) syscall before its exit event:
  // a checkpoint moved it there (ReplaySession::checkpoint).
  bool at_exit_early = false;
  bool signal_sent = false;  // the next recorded signal was already sent
  int exit_status = -1;      // wait status, once the thread is gone
  bool tick_target_armed = false;  // replay_schedule set the counter's target
  // The calls of its last buffer flush not yet counted in the fd tables
  // (replay/fd_table.h): they run before the thread's next event.
  std::vector<BufferedCall> uncounted_calls;

  // Debugging (focus thread only).
  uint64_t last_seq = 0;     // its last replayed event
  bool at_event = true;      // no instruction run since that event
  bool single_step = false;  // the next resume runs one instruction
  bool step_via_syscall = false;  // that step is a `syscall`: ends at its exit
  uint64_t stepping_over = 0;     // breakpoint lifted to step off it
  // Running a copy of the instruction under a breakpoint, not yet stopped
  // since (replay/displaced_steps.h); copy 0: none.
  DisplacedSteps::Step displaced;
  // Where the current single step started, as the program's instruction
  // (tick stubs are stepped through: see ReplaySession::request_single_step).
  uint64_t step_origin = 0;
  bool step_from_glue = false;
  // A step that went into the buffering engine from a syscall stub goes on
  // until the engine returns to this stub address (R, or R plus
  // RRX_SITE_HANDLED_SKIP) with %rsp back at step_engine_rsp; 0: none.
  uint64_t step_engine_return = 0;
  uint64_t step_engine_rsp = 0;

  // From the thread's last exec: the stack the kernel built (auxv is in
  // there) and the executable's saved copy.
  MemWrite initial_stack;
  std::string exe_saved_name;
  // Where its process's code was patched to count ticks (shared by the
  // process's threads; replaced, never changed, so copies stay valid).
  std::shared_ptr<const instrument::PatchSet> patches;
};

struct ReplayTask : ReplayTaskState {
  std::unique_ptr<Task> task;
};

}  // namespace rrx
