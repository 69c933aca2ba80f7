// ptrace: which requests a recorded program may make (the recorder serves
// them itself, record/emulated_ptrace.h) and what each writes into the
// caller's memory. Everything else stops the recording, naming the request.
#include <asm/prctl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <algorithm>
#include <string>

#include "syscalls/rules.h"

namespace rrx::rules {
namespace {

// The requests the recorder emulates, by name.
struct Request {
  long number;
  const char* name;
};
constexpr Request kSupported[] = {
    {PTRACE_TRACEME, "PTRACE_TRACEME"},       {PTRACE_PEEKTEXT, "PTRACE_PEEKTEXT"},
    {PTRACE_PEEKDATA, "PTRACE_PEEKDATA"},     {PTRACE_PEEKUSER, "PTRACE_PEEKUSER"},
    {PTRACE_POKETEXT, "PTRACE_POKETEXT"},     {PTRACE_POKEDATA, "PTRACE_POKEDATA"},
    {PTRACE_POKEUSER, "PTRACE_POKEUSER"},     {PTRACE_CONT, "PTRACE_CONT"},
    {PTRACE_KILL, "PTRACE_KILL"},             {PTRACE_GETREGS, "PTRACE_GETREGS"},
    {PTRACE_SETREGS, "PTRACE_SETREGS"},       {PTRACE_GETFPREGS, "PTRACE_GETFPREGS"},
    {PTRACE_DETACH, "PTRACE_DETACH"},         {PTRACE_SETOPTIONS, "PTRACE_SETOPTIONS"},
    {PTRACE_GETEVENTMSG, "PTRACE_GETEVENTMSG"}, {PTRACE_GETSIGINFO, "PTRACE_GETSIGINFO"},
    {PTRACE_SETSIGINFO, "PTRACE_SETSIGINFO"},   {PTRACE_SYSCALL, "PTRACE_SYSCALL"},
    {PTRACE_GETREGSET, "PTRACE_GETREGSET"},     {PTRACE_GET_SYSCALL_INFO, "PTRACE_GET_SYSCALL_INFO"},
    {PTRACE_ATTACH, "PTRACE_ATTACH"},           {PTRACE_SEIZE, "PTRACE_SEIZE"},
    {PTRACE_INTERRUPT, "PTRACE_INTERRUPT"},     {PTRACE_SINGLESTEP, "PTRACE_SINGLESTEP"},
    {PTRACE_SETREGSET, "PTRACE_SETREGSET"},  // the general registers only
    {PTRACE_ARCH_PRCTL, "PTRACE_ARCH_PRCTL"},  // the fs and gs bases
};

// Names of requests refused, so the message says which.
constexpr Request kRefused[] = {
    {PTRACE_SETFPREGS, "PTRACE_SETFPREGS"},
    {PTRACE_SYSEMU, "PTRACE_SYSEMU"},         {PTRACE_SYSEMU_SINGLESTEP, "PTRACE_SYSEMU_SINGLESTEP"},
    {PTRACE_LISTEN, "PTRACE_LISTEN"},         {PTRACE_PEEKSIGINFO, "PTRACE_PEEKSIGINFO"},
    {PTRACE_GETSIGMASK, "PTRACE_GETSIGMASK"}, {PTRACE_SETSIGMASK, "PTRACE_SETSIGMASK"},
};

}  // namespace

EntryVerdict entry_ptrace(SyscallCall& call, TraceeMemory&) {
  long request = static_cast<long>(call.args[0]);
  // The debug registers are the recorder's and the replayer's own.
  if (request == PTRACE_POKEUSER && call.args[2] >= offsetof(struct user, u_debugreg)) {
    return {EntryVerdict::kUnsupported, 0, "ptrace PTRACE_POKEUSER of a debug register"};
  }
  for (const Request& r : kSupported) {
    if (r.number == request) return {};
  }
  std::string name = "request " + std::to_string(request);
  for (const Request& r : kRefused) {
    if (r.number == request) name = r.name;
  }
  return {EntryVerdict::kUnsupported, 0, "ptrace " + name};
}

// What the recorder's answer wrote at `data` (args[3]).
void out_ptrace(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  uint64_t data = call.args[3];
  long request = static_cast<long>(call.args[0]);
  // Returns the size of the whole info, having written at most args[2].
  if (request == PTRACE_GET_SYSCALL_INFO && call.result > 0) {
    emit(out, data, std::min<uint64_t>(call.args[2], call.result));
    return;
  }
  if (call.result != 0) return;
  switch (request) {
    case PTRACE_GETREGSET: {  // the iovec's buffer, and its length updated
      struct iovec iov;
      if (!read_value(mem, data, iov)) return;
      emit(out, reinterpret_cast<uint64_t>(iov.iov_base), iov.iov_len);
      emit(out, data + offsetof(struct iovec, iov_len), sizeof iov.iov_len);
      break;
    }
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA:
    case PTRACE_PEEKUSER:
    case PTRACE_GETEVENTMSG:
      emit(out, data, sizeof(long));
      break;
    case PTRACE_GETREGS:
      emit(out, data, sizeof(struct user_regs_struct));
      break;
    case PTRACE_GETFPREGS:
      emit(out, data, sizeof(struct user_fpregs_struct));
      break;
    case PTRACE_GETSIGINFO:
      emit(out, data, sizeof(siginfo_t));
      break;
    case PTRACE_ARCH_PRCTL:  // the base asked for, at addr (args[2])
      if (data == ARCH_GET_FS || data == ARCH_GET_GS) emit(out, call.args[2], sizeof(long));
      break;
    default:
      break;
  }
}

}  // namespace rrx::rules
