// The recorder's seccomp filter for syscall buffering: syscalls made from
// the preload page's untraced `syscall` run without a ptrace stop, every
// other syscall stops the tracee (SECCOMP_RET_TRACE) exactly where a
// PTRACE_SYSCALL entry stop would.
#pragma once

#include <cstdint>
#include <string>

#include "core/task.h"
#include "syscalls/syscall_table.h"

namespace rrx {

// Installs the filter in the calling process (with no_new_privs, which an
// unprivileged filter needs). Called in the forked child just before exec;
// the filter is inherited by every child and kept across exec. Returns
// false on failure (errno says why). Allocates nothing.
bool install_syscall_buffer_filter();

// A recorded program's own filter (seccomp(SECCOMP_SET_MODE_FILTER) or
// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER), the sock_fprog pointer in
// args[2] either way) is installed for real, when recording and again in
// replay, so the kernel gives its verdicts (errno, SIGSYS, kill) in both.
// It is given a prefix that lets rrx's own syscalls through: those rrx
// injects at the task's syscall gadget, the preload library's pseudo
// syscalls, and syscall -1, which replay turns emulated calls into.
bool installs_program_filter(const SyscallCall& call);

// Writes the prefixed copy of the program's filter below the task's stack
// and returns the address of its sock_fprog, to put in args[2] (rdx) for
// the call; 0 with *error if it is too long to prefix; 0 and no error if
// the program's filter cannot be read (the call is then left as it is: the
// kernel cannot read it either, and says EFAULT). Deterministic: replay gets the same bytes at the same
// place.
uint64_t write_prefixed_program_filter(Task& task, const SyscallCall& call,
                                       std::string* error);

}  // namespace rrx
