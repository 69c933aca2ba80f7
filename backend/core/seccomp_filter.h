// The recorder's seccomp filter for syscall buffering: syscalls made from
// the preload page's untraced `syscall` run without a ptrace stop, every
// other syscall stops the tracee (SECCOMP_RET_TRACE) exactly where a
// PTRACE_SYSCALL entry stop would.
#pragma once

namespace rrx {

// Installs the filter in the calling process (with no_new_privs, which an
// unprivileged filter needs). Called in the forked child just before exec;
// the filter is inherited by every child and kept across exec. Returns
// false on failure (errno says why). Allocates nothing.
bool install_syscall_buffer_filter();

}  // namespace rrx
