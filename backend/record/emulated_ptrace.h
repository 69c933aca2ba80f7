// Emulated ptrace: rrx is the real tracer of every recorded thread, so a
// recorded program that ptrace()s another recorded thread gets a tracer
// played by the recorder (as rr does). The recorder keeps, per traced
// thread, who its tracer is and the stop it sits in for that tracer
// (held in a real ptrace stop of rrx's); the tracer's ptrace requests and
// its wait4/waitid for the tracee are answered from that state
// (emulated_ptrace.cc, a part of the Recorder). What this changes in the
// tracee goes into the trace as events of the tracee (trace/event.h:
// tracer-change events, Signal.tracer), so replay needs no tracer at all.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

#include "syscalls/syscall_table.h"

namespace rrx {

// The stop a traced thread sits in for its tracer.
enum class TracerStop : uint8_t {
  kNone,    // running (or stopped only for rrx's own reasons)
  kSignal,  // signal-delivery-stop: rrx holds it at the real one
  // Syscall-entry and -exit stops (PTRACE_SYSCALL): rrx holds it at its
  // own stop there, its event written, and finishes the stop's work when
  // the tracer resumes it.
  kSyscallEntry,
  kSyscallExit,
  // PTRACE_EVENT_EXEC / PTRACE_EVENT_EXIT stops: rrx holds it at its own.
  kEvent,
  // PTRACE_INTERRUPT's PTRACE_EVENT_STOP, taken at the tracee's next
  // syscall entry or exit stop (so replay holds it there too); leaving it
  // goes on to that syscall stop.
  kInterruptAtEntry,
  kInterruptAtExit,
};

// One recorded thread's relation to its emulated tracer.
struct PtraceTracee {
  pid_t tracer = 0;   // the tracer's process (tgid); 0: not traced
  uint32_t options = 0;  // PTRACE_O_*
  bool syscall_stops = false;  // resumed with PTRACE_SYSCALL
  bool seized = false;         // PTRACE_SEIZE: no SIGTRAP after exec
  unsigned long event_msg = 0;  // PTRACE_GETEVENTMSG at an event stop
  // Auto-attached at a fork, vfork or clone (PTRACE_O_TRACEFORK, ...): its
  // first stop is one for the tracer.
  bool start_pending = false;
  // PTRACE_INTERRUPT of the running thread: its next stop is for the
  // tracer (all its syscalls stop meanwhile, none buffered).
  bool interrupt_pending = false;
  TracerStop stop = TracerStop::kNone;
  int status = 0;         // the wait status of that stop
  bool reported = false;  // a wait of the tracer has returned it
  siginfo_t siginfo = {};  // PTRACE_GETSIGINFO / SETSIGINFO
  // PTRACE_SINGLESTEP: due at its next resume into user code (pending),
  // then under way until its SIGTRAP (stepping).
  bool step_pending = false;
  bool stepping = false;
};

// A tracee gone that its tracer's wait must report (the kernel reports
// only real children to their parent).
struct ExitedTracee {
  pid_t tid;
  int status;
  pid_t tracer;
};

// What a wait4/waitid asks for, as far as emulated tracees are concerned.
struct WaitRequest {
  enum class Who : uint8_t { kAny, kPid, kPgid, kOther } who = WaitRequest::Who::kOther;
  pid_t id = 0;        // the tid for kPid; the group for kPgid (0: the caller's)
  bool no_hang = false;
  bool no_wait = false;   // WNOWAIT: report, but leave the stop unreported
  bool waitid = false;    // answer through a siginfo (waitid), not a status
};

// Decodes the arguments of wait4 or waitid. who = kOther: something the
// emulation leaves to the kernel (pidfds, or waitid without a valid
// WEXITED/WSTOPPED/WCONTINUED).
WaitRequest decode_wait(const SyscallCall& call);

// The wait status a signal-delivery-stop reports.
inline int stop_status(int sig) { return (sig << 8) | 0x7f; }

}  // namespace rrx
