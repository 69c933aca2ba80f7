#include "syscalls/sigmask_args.h"

#include <sys/syscall.h>

namespace rrx {

bool temporary_sigmask(const SyscallCall& call, TraceeMemory& mem, uint64_t* addr,
                       uint64_t* size) {
  switch (call.number) {
    case SYS_rt_sigsuspend:
      *addr = call.args[0];
      *size = call.args[1];
      break;
    case SYS_ppoll:
      *addr = call.args[3];
      *size = call.args[4];
      break;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      *addr = call.args[4];
      *size = call.args[5];
      break;
    case SYS_pselect6: {
      // The sixth argument points to { const sigset_t* ss; size_t ss_len; }.
      uint64_t pair[2];
      if (call.args[5] == 0 || !mem.read(call.args[5], pair, sizeof pair)) return false;
      *addr = pair[0];
      *size = pair[1];
      break;
    }
    default:
      return false;
  }
  return *addr != 0;
}

}  // namespace rrx
