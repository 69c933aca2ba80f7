# The rrx trace format: the messages stored in a trace directory.
# docs/trace-format.md describes the files and their framing; this file only
# defines the messages. Evolve it the Cap'n Proto way (new fields get new
# ordinals at the end, nothing is renumbered or retyped); anything an older
# reader could not replay correctly needs a new kTraceVersion.
#
# Paths and argv are Data, not Text: on Linux they are bytes, not UTF-8.
# Saved-file names are Text: the writer builds them from [A-Za-z0-9._+-] only.

@0xa69c96a0c93c0a8a;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rrx::proto");

# Fixed facts about a recording: the `header` file.
struct TraceHeader {
  version @0 :UInt32;
  argv @1 :List(Data);
  cwd @2 :Data;
  exeSavedName @3 :Text;
  ticks @4 :Text;
  rootTid @5 :Int32;
  rlimitCur @6 :List(UInt64);  # RLIMIT_* 0..15
  rlimitMax @7 :List(UInt64);
  cpuidFaulting @8 :Bool;      # cpuid trapped and recorded as events
  cpuSignature @9 :Text;       # vendor, family/model/stepping, brand
  boundCpu @10 :Int32;         # the CPU recording ran on (-1: unpinned)
  syscallBuffer @11 :Bool;     # programs buffered syscalls in-process
  ignoredSignals @12 :UInt64;  # bit sig-1: ignored when the program started
  # ticks "hw" (or "hw-sim"): the CPU microarchitecture the counter ran on
  # (libpfm4's PMU name and the cpuid family/model, core/hw_tick_check.h);
  # a hw trace replays only on the same one.
  tickMicroarch @13 :Text;
}

# Bytes to put into tracee memory at `addr`.
struct MemWrite {
  addr @0 :UInt64;
  data @1 :Data;
}

struct MemRange {
  addr @0 :UInt64;
  len @1 :UInt64;
}

struct MappedFile {
  savedName @0 :Text;
  offset @1 :UInt64;
}

# One entry of the `events` stream.
struct Event {
  seq @0 :UInt64;   # from 1, strictly increasing
  tid @1 :Int32;
  regs @2 :Data;    # struct user_regs_struct, exactly 216 bytes

  union {
    syscallEntry @3 :SyscallEntry;
    syscallExit @4 :SyscallExit;
    signal @5 :Signal;
    exec @6 :Exec;
    newTask @7 :NewTask;
    instruction @8 :Instruction;
    exit @9 :Exit;
    schedule @10 :Schedule;
    bufferFlush @11 :BufferFlush;
    instrument @12 :Instrument;
    tracerChange @13 :TracerChange;
  }

  # Hardware ticks only (header ticks "hw"/"hw-sim"): the thread's tick
  # count at this event, for syscall entries and exits, signals, schedule
  # and instruction events (0 elsewhere, and before its first branch).
  # Replay checks it at every such event.
  ticksAtEvent @14 :UInt64;

  # When the recorder met the event: microseconds of its monotonic clock
  # since the recording started (0 in traces from before this field).
  # Replay shows it as `elapsed-time`.
  micros @15 :UInt64;

  struct SyscallEntry {
    syscallNo @0 :Int32;
  }

  struct SyscallExit {
    syscallNo @0 :Int32;
    writes @1 :List(MemWrite);  # memory the kernel wrote
    echoFd @2 :Int32;           # 1 or 2 when echoData went to our stdout/err
    echoData @3 :Data;
    mappedFile @4 :MappedFile;  # set only for the exit of a file mmap
    # CRC-32 of every byte echoed to echoFd in the recording so far, these
    # included: replay proves the output came in the recorded order.
    echoCrc @5 :UInt32;
    # shmat: the size of the segment attached at the result address.
    shmSize @6 :UInt64;
    # The call shrank a file the process maps shared: `addr` is in such a
    # mapping, `len` the file's new size (replay shrinks its copy too).
    shrunkFile @7 :MemRange;
    # Non-zero: after the call rrx mapped a syscall buffer here for the
    # thread's thread pointer (fs_base in regs) and entered it in the engine's
    # table (backend/preload/syscallbuf_abi.h); replay does the same.
    newBuffer @8 :UInt64;
  }

  struct Signal {
    signo @0 :Int32;
    siginfo @1 :Data;           # siginfo_t as delivered (128 bytes)
    deterministic @2 :Bool;     # caused by the instruction at regs.rip
    ticks @3 :UInt64;           # >0: delivered mid-computation at this
                                # soft-tick count (with regs)
    tracer @4 :SignalTracer;    # the thread's emulated tracer's part in it
  }

  # A recorded program ptrace()s the thread (rrx emulates that tracer).
  enum SignalTracer {
    none @0;      # an ordinary delivery
    stopped @1;   # the signal stopped the thread for its tracer instead of
                  # being delivered; the thread stays at that stop
    injected @2;  # the tracer resumed the thread with this signal: it is
                  # delivered from the stop the thread sits in
  }

  struct Exec {
    exeSavedName @0 :Text;
    writes @1 :List(MemWrite);  # the initial stack
    # Non-zero: the event's thread was not its process's leader; the kernel
    # ended the leader without an exit report and gave the thread this tid.
    leaderTid @2 :Int32;
  }

  struct NewTask {
    newTid @0 :Int32;
    cloneFlags @1 :UInt64;
  }

  struct Instruction {
    values @0 :List(UInt64);    # rax, rbx, rcx, rdx after emulation
    insnLen @1 :UInt32;
  }

  struct Exit {
    exitStatus @0 :Int32;       # wait status
  }

  # The recorder took the CPU from `tid` at this soft-tick count (with
  # regs) to let another thread of its process run. ticks = 0: a program
  # without ticks, stopped after a wall-clock slice; the point is named by
  # regs and `stackHash` alone (core/stack_fingerprint.h).
  struct Schedule {
    ticks @0 :UInt64;
    stackHash @1 :UInt64;
  }

  # Syscalls `tid` ran in-process since its last stop: the records of its
  # syscall buffer, and the buffer header replay starts from
  # (backend/preload/syscallbuf_abi.h).
  struct BufferFlush {
    writes @0 :List(MemWrite);
  }

  # The recorder patched `tid`'s code to count ticks (backend/instrument/):
  # it mapped the patch file saved under files/ as `patchSavedName`
  # (backend/instrument/patch_file.h), its code over the program's at
  # `code` and its stubs at `stubs`. Replay does the same here.
  struct Instrument {
    code @0 :MemRange;
    stubs @1 :MemRange;
    patchSavedName @2 :Text;
  }

  # The thread's emulated tracer (PTRACE_POKEDATA, SETREGS, ...) changed its
  # memory (`writes`) and registers (`regs`, the whole new set) while it sat
  # at a stop for that tracer. It did not move.
  struct TracerChange {
    writes @0 :List(MemWrite);
  }
}

struct TraceSummary {
  eventCount @0 :UInt64;
  exitStatus @1 :Int32;
  # The signal (SIGTERM, SIGHUP) with which the user ended the recording;
  # 0 if the program ended by itself.
  endedBySignal @2 :Int32;
  # Processes still running when the initial process exited (recorded
  # without --wait-all): killed after their last event.
  leftRunning @3 :List(Int32);
}

# Length and CRC-32 of a whole file of the trace.
struct FileDigest {
  size @0 :UInt64;
  crc32 @1 :UInt32;
}

# The `complete` marker, written last.
struct CompleteMarker {
  summary @0 :TraceSummary;
  events @1 :FileDigest;
  header @2 :FileDigest;
  filesManifest @3 :FileDigest;
}

# One file saved under files/.
struct SavedFile {
  name @0 :Text;           # its name under files/
  originalPath @1 :Data;   # where it was at record time
  size @2 :UInt64;
  mtimeNs @3 :Int64;       # mtime of the original at record time
  crc32 @4 :UInt32;        # of the saved contents
}

# The `files.manifest` file.
struct FilesManifest {
  files @0 :List(SavedFile);
}
