// Syscalls that install a signal mask only while they wait (rt_sigsuspend,
// ppoll, pselect6, epoll_pwait, epoll_pwait2). When one was interrupted by
// a signal, the signal was delivered under that temporary mask, so replay
// must install it again to deliver the signal.
#pragma once

#include <cstdint>

#include "syscalls/syscall_table.h"

namespace rrx {

// Where the call's temporary mask is (tracee address and size in bytes);
// false if the call has none.
bool temporary_sigmask(const SyscallCall& call, TraceeMemory& mem, uint64_t* addr,
                       uint64_t* size);

}  // namespace rrx
