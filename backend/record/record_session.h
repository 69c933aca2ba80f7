// Records a program and everything it starts into a trace directory.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace rrx {

struct RecordOptions {
  std::vector<std::string> argv;  // program and arguments, as typed
  std::string trace_dir;          // must not exist yet
  // Preempt threads of soft-tick programs after random, often short,
  // slices and pick the next thread at random, to make races show up.
  bool chaos = false;
  // Soft ticks a thread of a multithreaded soft-tick program may run before
  // another gets the CPU (-c; about a millisecond of a typical loop).
  uint64_t slice_ticks = 200000;
  // The tick source: "soft" (code built with our GCC plugin counts its own
  // ticks, every other file-backed executable mapping is patched to count:
  // backend/instrument/), "static" (only the plugin's counting), "hw" (the
  // PMU's retired-conditional-branch counter, core/hw_tick_source.h),
  // "hw-sim" (the hw source's logic over a simulated counter: tests only)
  // or "none". ("auto" is resolved by the CLI.)
  std::string ticks = "soft";
  // Leave the recorder and tracees free to run on any CPU (-u). Slower
  // (ptrace stops across CPUs), and without cpuid faulting the cpuid
  // results a program sees depend on the CPU it happened to run on.
  bool unbound = false;
  // Buffer syscalls in-process (the engine, preload/syscallbuf_abi.h),
  // sparing most of them a ptrace stop; false: -n.
  bool buffer_syscalls = true;
  // Signals the program starts with ignored (bit sig-1): those rrx was
  // started with ignored, not the ones it ignores itself.
  uint64_t ignored_signals = 0;
  // Record until every process has ended (--wait-all). Otherwise recording
  // ends with the initial process, as rr's does: processes it left running
  // (daemons) are killed and named in the trace's summary.
  bool wait_all = false;
  // Called once the program runs and its trace has a header (not when it
  // could not start: then no trace is left).
  std::function<void()> on_started;
};

struct RecordResult {
  bool ok = false;
  std::string error;     // one line, when !ok
  int wait_status = 0;   // of the root process, when ok
};

RecordResult record(const RecordOptions& options);

}  // namespace rrx
