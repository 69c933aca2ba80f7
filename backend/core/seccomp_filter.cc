#include "core/seccomp_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#include "preload/syscallbuf_abi.h"

namespace rrx {

bool install_syscall_buffer_filter() {
  constexpr uint32_t kIpLow = RRX_UNTRACED_SYSCALL_IP & 0xffffffffu;
  constexpr uint32_t kIpHigh = RRX_UNTRACED_SYSCALL_IP >> 32;
  constexpr uint32_t kArch = offsetof(struct seccomp_data, arch);
  constexpr uint32_t kIp = offsetof(struct seccomp_data, instruction_pointer);
  struct sock_filter code[] = {
      // A 32-bit syscall (int 0x80) has other numbers: always trace it.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArch),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIpLow, 0, 2),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIpHigh, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0;
}

}  // namespace rrx
