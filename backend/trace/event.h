// What a trace holds, as plain C++ values. The Cap'n Proto encoding lives
// in trace/ (protocol/trace.capnp); the engine only sees these structs.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

// 2: buffered mmap/munmap, which replay runs again in-process under the
// syscall filter. 3: tick page ABI 2 and dynamic instrumentation events
// (docs/trace-format.md, "Versions"). 5: emulated ptrace (tracer-change
// events, Signal.tracer). 6: the buffering engine is rrx's own, no
// preload library (SyscallExit.newBuffer). Reads 1 to 6 (soft-tick traces
// only from 3: their tick counter changed; buffered ones only from 6).
inline constexpr uint32_t kTraceVersion = 7;

using Registers = user_regs_struct;

// Bytes to put into tracee memory at `addr`.
struct MemWrite {
  uint64_t addr = 0;
  std::string data;
};

enum class EventKind : uint8_t {
  kSyscallEntry,  // tid entered syscall `syscall_no`; regs at entry
  kSyscallExit,   // tid left it; regs at exit, writes = what the kernel wrote
  kSignal,        // signal delivered to tid; regs at the delivery stop
  kExec,          // tid exec'd (ptrace exec event); regs after exec
  kNewTask,       // tid created `new_tid` (ptrace fork/vfork/clone event)
  kInstruction,   // tid trapped on rdtsc/rdtscp/cpuid; values = results
  kExit,          // tid is gone; exit_status is its wait status
  kSchedule,      // tid was preempted at `ticks` (and regs)
  kBufferFlush,   // syscalls tid ran in-process; writes = its buffer
  kInstrument,    // tid's code was patched to count ticks (see below)
  kTracerChange,  // tid's emulated tracer set its regs and wrote `writes`
};

// A recorded program ptrace()s the thread (record/emulated_ptrace.h): what
// its tracer has to do with a kSignal event.
enum class SignalTracer : uint8_t {
  kNone,      // an ordinary delivery
  kStopped,   // the signal stopped the thread for its tracer, undelivered
  kInjected,  // the tracer resumed the thread with it: delivered from there
};

// Address range [addr, addr + len).
struct MemRange {
  uint64_t addr = 0;
  uint64_t len = 0;
};

// A file mapped by mmap, saved into the trace.
struct MappedFile {
  std::string saved_name;  // name under the trace's files/ directory
  uint64_t offset = 0;
};

struct Event {
  uint64_t seq = 0;  // global event number, from 1, strictly increasing
  int32_t tid = 0;   // recorded tid
  // Hardware ticks: the thread's count at this event (see trace.capnp).
  uint64_t ticks_at_event = 0;
  // The recorder's monotonic clock at the event, in microseconds since the
  // recording started (0 in older traces).
  uint64_t micros = 0;
  EventKind kind = EventKind::kSyscallEntry;
  Registers regs = {};

  // kSyscallEntry / kSyscallExit
  int32_t syscall_no = -1;
  std::vector<MemWrite> writes;  // kSyscallExit: memory the kernel wrote;
                                 // kExec: the initial stack;
                                 // kBufferFlush: the buffer's new contents
                                 // kTracerChange: what the tracer poked
  int32_t echo_fd = 0;           // 1 or 2 when the bytes went to our stdout/err
  std::string echo_data;
  // With echo_fd: CRC-32 of all bytes echoed to that fd so far, these
  // included (the order of the whole output, not just these bytes).
  uint32_t echo_crc = 0;
  uint64_t shm_size = 0;  // shmat: the attached segment's size
  // The call shrank a file mapped shared at `addr` to `len` bytes.
  MemRange shrunk_file;
  // The thread got a syscall buffer here after the call (syscallbuf_abi.h).
  uint64_t new_buffer = 0;
  bool has_mapped_file = false;  // kSyscallExit of a file mmap
  MappedFile mapped_file;

  // kSignal
  int32_t signo = 0;
  std::string siginfo;         // 128 bytes of siginfo_t as delivered
  bool deterministic = false;  // caused by the instruction at regs.rip
  // Non-zero: delivered in the middle of computation, when the thread's
  // soft tick count was this (and its registers were `regs`).
  uint64_t ticks = 0;
  SignalTracer tracer = SignalTracer::kNone;
  // kSchedule with ticks 0 (a wall-clock slice ended): the fingerprint of
  // the stack top that, with regs, names the point.
  uint64_t stack_hash = 0;

  // kExec: the executable the kernel loaded, saved under files/
  std::string exe_saved_name;
  // kExec by a thread other than its process's leader (`tid`): the leader
  // ended with no exit report, and the thread goes on as this tid.
  int32_t leader_tid = 0;

  // kNewTask
  int32_t new_tid = 0;
  uint64_t clone_flags = 0;

  // kInstruction: rax, rbx, rcx, rdx after emulation; instruction length
  uint64_t values[4] = {};
  uint32_t insn_len = 0;

  // kExit
  int32_t exit_status = 0;

  // kInstrument: the recorder mapped the patch saved under files/ as
  // `patch_saved_name` (instrument/patch_file.h): its code over the
  // program's at `patch_code`, its stubs at `patch_stubs`. Replay does the
  // same at the same point.
  MemRange patch_code, patch_stubs;
  std::string patch_saved_name;
};

// Fixed facts about a recording, written before any event.
struct TraceHeader {
  uint32_t version = kTraceVersion;
  std::vector<std::string> argv;  // as the user typed it after `rrx record`
  std::string cwd;
  std::string exe_saved_name;     // first program, saved under files/
  std::string ticks = "none";     // tick source used while recording
  // With hardware ticks, the CPU microarchitecture they were counted on.
  std::string tick_microarch;
  int32_t root_tid = 0;
  // getrlimit() values for RLIMIT_* 0..15 at record time: the address space
  // layout depends on some of them (RLIMIT_STACK sets the mmap base).
  std::vector<uint64_t> rlimit_cur;
  std::vector<uint64_t> rlimit_max;
  // Whether cpuid trapped while recording (its results are then events).
  // Without it cpuid ran natively, so replay needs the same CPU.
  bool cpuid_faulting = false;
  std::string cpu_signature;
  // The CPU the recording was pinned to; replay pins to the same one
  // (untrapped cpuid reports the CPU's APIC id). -1: not pinned.
  int32_t bound_cpu = -1;
  // Programs buffered common syscalls in-process (librrx_preload.so): the
  // preload page is mapped at every exec and flush events carry the calls.
  bool syscall_buffer = false;
  // Signals the program started with ignored (bit sig-1), as `nohup` or a
  // shell's `trap '' SIG` leave them; every other one started at default.
  uint64_t ignored_signals = 0;
};

// Written last, when the recording finished cleanly.
struct TraceSummary {
  uint64_t event_count = 0;
  int32_t exit_status = 0;  // wait status of the root process
  // The signal with which the user ended the recording (the program was
  // killed after the last event), 0 if it ended by itself.
  int32_t ended_by_signal = 0;
  // Processes (pids) still running when the initial process exited: killed
  // after their last event, unless recorded with --wait-all.
  std::vector<int32_t> left_running;
};

const char* event_kind_name(EventKind kind);

}  // namespace rrx
