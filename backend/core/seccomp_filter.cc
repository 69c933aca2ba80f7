#include "core/seccomp_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

#include "core/registers.h"

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

bool installs_program_filter(const SyscallCall& call) {
  if (call.number == SYS_seccomp) return call.args[0] == SECCOMP_SET_MODE_FILTER;
  return call.number == SYS_prctl && call.args[0] == PR_SET_SECCOMP &&
         call.args[1] == SECCOMP_MODE_FILTER;
}

namespace {

// Far enough below the stack pointer to leave the red zone and whatever
// the kernel's own use of the stack there alone.
constexpr uint64_t kBelowStack = 4096;

// Allows syscall -1, rrx's pseudo syscalls, and syscalls whose
// instruction pointer is just past `syscall_ip`'s `syscall` instruction;
// anything else falls through to the program's filter, which follows.
std::vector<sock_filter> rrx_syscalls_prefix(uint64_t syscall_ip) {
  constexpr uint32_t kNr = offsetof(struct seccomp_data, nr);
  constexpr uint32_t kIp = offsetof(struct seccomp_data, instruction_pointer);
  const uint64_t ip = syscall_ip + 2;
  // Jump offsets count from the next instruction: ALLOW is at 9, the
  // program's first instruction at 10.
  return {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 7, 0),
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, RRX_CALL_FIRST, 0, 1),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, RRX_CALL_MISMATCH + 1, 0, 5),
      /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp),
      /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip), 0, 2),
      /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIp + 4),
      /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ip >> 32), 1, 0),
      /* 8 */ BPF_STMT(BPF_JMP | BPF_JA, 1),
      /* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
}

}  // namespace

uint64_t write_prefixed_program_filter(Task& task, const SyscallCall& call, std::string* error) {
  struct sock_fprog fprog;
  if (!task.read_mem(call.args[2], &fprog, sizeof fprog)) return 0;
  std::vector<sock_filter> code = rrx_syscalls_prefix(task.syscall_gadget);
  size_t prefix = code.size();
  if (prefix + fprog.len > BPF_MAXINSNS) {
    *error = "the program's seccomp filter is too long to let rrx's own syscalls through";
    return 0;
  }
  code.resize(prefix + fprog.len);
  if (fprog.len && !task.read_mem(reinterpret_cast<uint64_t>(fprog.filter), code.data() + prefix,
                                  fprog.len * sizeof(sock_filter))) {
    return 0;
  }
  Registers regs;
  task.get_regs(&regs);
  uint64_t bytes = code.size() * sizeof(sock_filter);
  uint64_t filter_addr = (regs.rsp - kBelowStack - bytes) & ~uint64_t{15};
  uint64_t fprog_addr = filter_addr - 16;
  struct sock_fprog copy = {static_cast<unsigned short>(code.size()),
                            reinterpret_cast<sock_filter*>(filter_addr)};
  if (!task.write_mem(filter_addr, code.data(), bytes) ||
      !task.write_mem(fprog_addr, &copy, sizeof copy)) {
    *error = "cannot write the program's seccomp filter below its stack";
    return 0;
  }
  return fprog_addr;
}

}  // namespace rrx
