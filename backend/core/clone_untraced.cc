#include "core/clone_untraced.h"

#include <linux/sched.h>
#include <sys/syscall.h>

namespace rrx {

bool strip_clone_untraced(Task& task, const SyscallCall& call) {
  if (call.number == SYS_clone && (call.args[0] & CLONE_UNTRACED)) {
    Registers regs;
    if (!task.get_regs(&regs)) return false;
    regs.rdi &= ~static_cast<uint64_t>(CLONE_UNTRACED);
    return task.set_regs(regs);
  }
  if (call.number == SYS_clone3 && call.args[0]) {  // flags: the first field of clone_args
    uint64_t flags;
    if (!task.read_mem(call.args[0], &flags, sizeof flags)) return true;  // the kernel says EFAULT
    if (!(flags & CLONE_UNTRACED)) return true;
    flags &= ~static_cast<uint64_t>(CLONE_UNTRACED);
    return task.write_mem(call.args[0], &flags, sizeof flags);
  }
  return true;
}

}  // namespace rrx
