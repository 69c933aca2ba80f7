#include "core/exec_setup.h"

#include <asm/prctl.h>
#include <sys/syscall.h>

#include "core/preload_page.h"
#include "core/remote_syscall.h"
#include "core/tick_counter.h"
#include "core/vdso.h"

namespace rrx {

bool setup_at_exec_event(Task& task, bool buffering, std::string* error) {
  task.reopen_mem();
  task.untraced_syscall = 0;  // the old image's preload page is gone
  return patch_vdso(task, buffering, error);
}

bool setup_at_exec_exit(Task& task, const ExecSetup& setup, std::string* error) {
  bool ok = true;
  if (setup.cpuid_faulting && remote_syscall(task, SYS_arch_prctl, {ARCH_SET_CPUID, 0}, &ok) != 0) {
    ok = false;
  }
  if (!ok) {
    *error = "cannot enable cpuid faulting";
    return false;
  }
  if (setup.soft_ticks && !map_tick_page(task)) {
    *error = "cannot map the tick page";
    return false;
  }
  if (setup.preload_mode && !map_preload_page(task, setup.preload_mode, setup.sinks)) {
    *error = "cannot map the syscall buffering page";
    return false;
  }
  return true;
}

}  // namespace rrx
