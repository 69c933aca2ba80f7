// The x86-64 syscall table: the one place that says, for every syscall,
// what recording does with it and how replay reproduces it. Record and
// replay both consult it; nothing else in rrx lists syscalls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rrx {

// What the recorder does when a tracee enters the syscall.
enum class RecordPolicy : uint8_t {
  kRecord,       // let it run; save the result and every byte it wrote
  kDenyENOSYS,   // fail it with ENOSYS (warn once): programs have fallbacks
  kUnsupported,  // stop recording with an error naming the syscall
};

// How the replayer reproduces the syscall.
enum class ReplayAction : uint8_t {
  kEmulate,   // do not run it; set the recorded result, write recorded memory
  kExecute,   // run it again (it shapes the address space or signal state);
              // then set the recorded result and write recorded memory
  kMmap,      // mmap: anonymous runs again, file mappings come from the trace
  kMremap,    // mremap: runs again, forced to the recorded address
  kShmat,     // shmat: attaches replay's own segment for the recorded one,
              // at the recorded address
  kExecve,    // execve/execveat: exec the trace's copy, restore the stack
  kFork,      // fork/vfork/clone/clone3: run, then map recorded ids
  kExit,      // exit/exit_group: run
  kSigreturn, // rt_sigreturn: run; registers come from the signal frame
};

// How to find the bytes a write-like syscall sent to its fd (args[0]), so
// replay can re-emit what went to stdout/stderr.
enum class FdWriteData : uint8_t {
  kNone,
  kBuffer,  // args[1] points to the data; result is the byte count
  kIovec,   // args[1] is an iovec array of args[2] entries; result bytes
};

// What a syscall changes in a file (and so in the file's mappings).
struct FileWrite {
  int8_t fd_arg = -1;  // the file's descriptor; -1: the call changes no file
  // The offset written at: this argument's value (-1 there means the file
  // position), or with `offset_ptr` the loff_t it points to, which the
  // kernel advanced past the bytes (null: the file position). -1: at the
  // file position, which the call advanced past the bytes.
  int8_t offset_arg = -1;
  bool offset_ptr = false;
  // How many bytes: this argument's value, or -1 for the call's result.
  int8_t length_arg = -1;
  bool writes_bytes = true;  // false: the call only sets the size
  bool sizes = false;        // it may grow the file (ftruncate, fallocate)
};

// A range of tracee memory.
struct MemRegion {
  uint64_t addr;
  uint64_t len;
};

// Reads tracee memory for the rules below. Returns false if unreadable.
class TraceeMemory {
 public:
  virtual ~TraceeMemory() = default;
  virtual bool read(uint64_t addr, void* buf, size_t len) = 0;
};

// One invocation of a syscall as the rules see it.
struct SyscallCall {
  int number = 0;
  uint64_t args[6] = {};
  int64_t result = 0;      // valid only in `outputs`
  uint64_t saved[4] = {};  // values `at_entry` captured before the kernel ran
};

// What `at_entry` decides about one invocation.
struct EntryVerdict {
  // kUnlessItFails: let the kernel try it; a failure (which changes
  // nothing) is recorded like any other, a success stops the recording as
  // kUnsupported would have (rrx cannot tell what it changed).
  enum Kind : uint8_t { kRun, kDeny, kUnsupported, kUnlessItFails } kind = kRun;
  int error = 0;     // errno for kDeny
  std::string what;  // for kUnsupported, kUnlessItFails: e.g. "ioctl TIOCSTI (0x5412)"
};

struct SyscallDesc {
  int number;
  const char* name;
  RecordPolicy record;
  ReplayAction replay;
  FdWriteData fd_write;
  // At entry, before the kernel runs it: inspect arguments (and memory),
  // capture pre-call values into call.saved, refuse unknown sub-operations.
  // May be null (always kRun).
  EntryVerdict (*at_entry)(SyscallCall& call, TraceeMemory& mem);
  // At exit: append every region of tracee memory the kernel may have
  // written. Called for successful and failed calls alike (most rules add
  // nothing when result < 0). May be null (writes nothing).
  void (*outputs)(const SyscallCall& call, TraceeMemory& mem,
                  std::vector<MemRegion>& out);
  // Calls that write `result` bytes into a file (the recorder saves what
  // that changes in mappings of the file): see FileWrite.
  FileWrite file_write = {};
};

// The entry for syscall `number`, or nullptr if rrx does not know it. A
// number no x86-64 kernel has gets one shared entry (number -1) that
// denies it with ENOSYS, as the kernel does.
const SyscallDesc* syscall_lookup(int number);
// The entry named `name` ("openat"), or nullptr.
const SyscallDesc* syscall_lookup(std::string_view name);
// "openat", or "syscall 999" for numbers we do not know.
std::string syscall_name(int number);
// Every known entry, in number order.
const std::vector<const SyscallDesc*>& syscall_all();

}  // namespace rrx
