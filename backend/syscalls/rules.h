// Building blocks for the per-syscall rules of the syscall table: the
// `at_entry` and `outputs` functions it points to, and the helpers they
// share. Only syscall_table.cc and the rule files include this.
//
// Precision principle: a rule must list every byte the kernel may have
// written. Listing a few bytes the kernel left alone is harmless (replay
// writes back the values they already had), but missing one makes replay
// diverge. Rules therefore over-approximate where the kernel's behaviour
// depends on state we cannot see at exit (e.g. vmsplice's direction).
#pragma once

#include <cstdint>
#include <vector>

#include "syscalls/syscall_table.h"

namespace rrx::rules {

using Regions = std::vector<MemRegion>;

// True unless `result` is a kernel error code (-4095..-1).
inline bool succeeded(int64_t result) { return result >= 0 || result < -4095; }

// True for -EINTR and for the -ERESTART* codes a tracer sees at syscall
// exit when a signal interrupted the call (before the kernel turns them
// into -EINTR or restarts the call).
bool interrupted(int64_t result);

// Appends [addr, addr + len) unless addr or len is 0.
void emit(Regions& out, uint64_t addr, uint64_t len);

// Reads a T at `addr`; false if addr is 0 or unreadable.
template <class T>
bool read_value(TraceeMemory& mem, uint64_t addr, T& value) {
  return addr != 0 && mem.read(addr, &value, sizeof value);
}

// Emits the first `len` bytes of the buffers described by the iovec array
// at `iov` (`count` entries), in order, as the kernel fills them.
void emit_iovecs(TraceeMemory& mem, uint64_t iov, uint64_t count, uint64_t len,
                 Regions& out);

// ---- Generic rules, parameterised by argument index -----------------------

// On success the kernel wrote `Size` bytes at args[Arg] (if non-null).
template <int Arg, uint64_t Size>
void out_fixed(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[Arg], Size);
}

// On success the kernel wrote `result` elements of `Elem` bytes at args[Arg].
template <int Arg, uint64_t Elem = 1>
void out_result_array(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result > 0) emit(out, call.args[Arg], uint64_t(call.result) * Elem);
}

// readv-like: `result` bytes scattered over the iovecs at args[IovArg]
// (args[IovArg + 1] entries).
template <int IovArg>
void out_iovec_result(const SyscallCall& call, TraceeMemory& mem,
                      Regions& out) {
  if (call.result > 0)
    emit_iovecs(mem, call.args[IovArg], call.args[IovArg + 1], call.result,
                out);
}

// ---- Specific rules (output_rules.cc) -------------------------------------

void out_poll(const SyscallCall&, TraceeMemory&, Regions&);
void out_ppoll(const SyscallCall&, TraceeMemory&, Regions&);
void out_select(const SyscallCall&, TraceeMemory&, Regions&);
void out_pselect6(const SyscallCall&, TraceeMemory&, Regions&);
void out_nanosleep(const SyscallCall&, TraceeMemory&, Regions&);
void out_clock_nanosleep(const SyscallCall&, TraceeMemory&, Regions&);
void out_gettimeofday(const SyscallCall&, TraceeMemory&, Regions&);
void out_wait4(const SyscallCall&, TraceeMemory&, Regions&);
void out_waitid(const SyscallCall&, TraceeMemory&, Regions&);
void out_getresid(const SyscallCall&, TraceeMemory&, Regions&);
void out_getgroups(const SyscallCall&, TraceeMemory&, Regions&);
void out_capget(const SyscallCall&, TraceeMemory&, Regions&);
void out_rt_sigprocmask(const SyscallCall&, TraceeMemory&, Regions&);
void out_rt_sigpending(const SyscallCall&, TraceeMemory&, Regions&);
void out_rt_sigtimedwait(const SyscallCall&, TraceeMemory&, Regions&);
void out_fcntl(const SyscallCall&, TraceeMemory&, Regions&);
void out_prctl(const SyscallCall&, TraceeMemory&, Regions&);
void out_arch_prctl(const SyscallCall&, TraceeMemory&, Regions&);
void out_futex(const SyscallCall&, TraceeMemory&, Regions&);
void out_clone(const SyscallCall&, TraceeMemory&, Regions&);
void out_clone3(const SyscallCall&, TraceeMemory&, Regions&);
void out_in_out_offsets(const SyscallCall&, TraceeMemory&, Regions&);
void out_get_robust_list(const SyscallCall&, TraceeMemory&, Regions&);
void out_name_to_handle_at(const SyscallCall&, TraceeMemory&, Regions&);
void out_getxattr(const SyscallCall&, TraceeMemory&, Regions&);
void out_listxattr(const SyscallCall&, TraceeMemory&, Regions&);
void out_mincore(const SyscallCall&, TraceeMemory&, Regions&);
void out_get_mempolicy(const SyscallCall&, TraceeMemory&, Regions&);
void out_move_pages(const SyscallCall&, TraceeMemory&, Regions&);
void out_sched_getattr(const SyscallCall&, TraceeMemory&, Regions&);
void out_syslog(const SyscallCall&, TraceeMemory&, Regions&);
void out_getcpu(const SyscallCall&, TraceeMemory&, Regions&);
void out_mq_timedreceive(const SyscallCall&, TraceeMemory&, Regions&);
void out_msgrcv(const SyscallCall&, TraceeMemory&, Regions&);
void out_msgctl(const SyscallCall&, TraceeMemory&, Regions&);
void out_shmctl(const SyscallCall&, TraceeMemory&, Regions&);
void out_semctl(const SyscallCall&, TraceeMemory&, Regions&);

EntryVerdict entry_prctl(SyscallCall&, TraceeMemory&);
EntryVerdict entry_seccomp(SyscallCall&, TraceeMemory&);
void out_seccomp(const SyscallCall&, TraceeMemory&, Regions&);
EntryVerdict entry_semctl(SyscallCall&, TraceeMemory&);

// ---- Keyrings and disk quotas (admin_rules.cc) ----------------------------

EntryVerdict entry_keyctl(SyscallCall&, TraceeMemory&);
void out_keyctl(const SyscallCall&, TraceeMemory&, Regions&);
void out_quotactl(const SyscallCall&, TraceeMemory&, Regions&);
void out_quotactl_fd(const SyscallCall&, TraceeMemory&, Regions&);

// ---- Sockets (socket_rules.cc) --------------------------------------------

// accept/accept4/getsockname/getpeername: address at args[1], its socklen
// at args[2]. The entry rule saves the pre-call socklen in saved[0].
EntryVerdict entry_sockaddr(SyscallCall&, TraceeMemory&);
void out_sockaddr(const SyscallCall&, TraceeMemory&, Regions&);
EntryVerdict entry_recvfrom(SyscallCall&, TraceeMemory&);
void out_recvfrom(const SyscallCall&, TraceeMemory&, Regions&);
EntryVerdict entry_recvmsg(SyscallCall&, TraceeMemory&);
void out_recvmsg(const SyscallCall&, TraceeMemory&, Regions&);
EntryVerdict entry_recvmmsg(SyscallCall&, TraceeMemory&);
void out_recvmmsg(const SyscallCall&, TraceeMemory&, Regions&);
void out_sendmmsg(const SyscallCall&, TraceeMemory&, Regions&);
EntryVerdict entry_getsockopt(SyscallCall&, TraceeMemory&);
void out_getsockopt(const SyscallCall&, TraceeMemory&, Regions&);
void out_setsockopt(const SyscallCall&, TraceeMemory&, Regions&);

// ---- ptrace (ptrace_rules.cc): requests the recorder emulates ----------

EntryVerdict entry_ptrace(SyscallCall&, TraceeMemory&);
void out_ptrace(const SyscallCall&, TraceeMemory&, Regions&);

// ---- ioctl (ioctl_rules.cc) -----------------------------------------------

EntryVerdict entry_ioctl(SyscallCall&, TraceeMemory&);
void out_ioctl(const SyscallCall&, TraceeMemory&, Regions&);

}  // namespace rrx::rules
