#include "core/tick_counter.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "core/hw_tick_source.h"
#include "core/remote_syscall.h"
#include "ticks/tick_page.h"

namespace rrx {

bool map_tick_page(Task& task) {
  bool ok;
  int64_t addr = remote_syscall(task, SYS_mmap,
                                {RRX_TICK_PAGE_ADDR, RRX_TICK_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ~uint64_t{0}, 0},
                                &ok);
  if (!ok || addr != RRX_TICK_PAGE_ADDR) return false;
  struct rrx_tick_page page = {};
  page.target = UINT64_MAX;
  page.count = 1;  // ticks = count + target = 0
  page.magic = RRX_TICK_PAGE_MAGIC;
  page.version = RRX_TICK_PAGE_VERSION;
  return task.write_mem(RRX_TICK_PAGE_ADDR, &page, sizeof page);
}

// count and target are adjacent: one read or write moves both.
uint64_t page_ticks(const Task& task) {
  uint64_t fields[2] = {};  // count, target
  if (!task.read_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_COUNT, fields, sizeof fields)) return 0;
  return fields[0] + fields[1];
}

bool set_page_target(Task& task, uint64_t target) {
  uint64_t fields[2] = {page_ticks(task) - target, target};
  return task.write_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_COUNT, fields, sizeof fields);
}

bool map_tick_patch(Task& task, const std::string& path, uint64_t code_addr, uint64_t code_len,
                    uint64_t stubs_addr, uint64_t stubs_len) {
  bool ok;
  int64_t fd;
  {
    StackScratch scratch(task);
    uint64_t path_addr = scratch.push(path);
    fd = remote_syscall(task, SYS_openat,
                        {static_cast<uint64_t>(AT_FDCWD), path_addr, O_RDONLY | O_CLOEXEC}, &ok);
  }
  if (!ok || fd < 0) return false;
  int64_t code = remote_syscall(task, SYS_mmap,
                                {code_addr, code_len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED,
                                 static_cast<uint64_t>(fd), 0},
                                &ok);
  int64_t stubs = ok ? remote_syscall(task, SYS_mmap,
                                      {stubs_addr, stubs_len, PROT_READ | PROT_EXEC,
                                       MAP_PRIVATE | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(fd),
                                       code_len},
                                      &ok)
                     : -1;
  bool closed;
  remote_syscall(task, SYS_close, {static_cast<uint64_t>(fd)}, &closed);
  return ok && static_cast<uint64_t>(code) == code_addr && static_cast<uint64_t>(stubs) == stubs_addr;
}

bool take_page_trap(Task& task) {
  uint64_t pending = 0;
  if (!task.read_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_TRAP_PENDING, &pending, sizeof pending) ||
      pending != 1) {
    return false;
  }
  pending = 0;
  task.write_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_TRAP_PENDING, &pending, sizeof pending);
  return set_page_target(task, UINT64_MAX);
}

// ---- The thread's tick source: the hardware one if the session chose it.

uint64_t read_ticks(const Task& task) {
  HwThreadTicks* hw = hw_thread_ticks(task);
  return hw ? hw->ticks() : page_ticks(task);
}

bool set_tick_target(Task& task, uint64_t target) {
  HwThreadTicks* hw = hw_thread_ticks(task);
  if (!hw) return set_page_target(task, target);
  if (target == UINT64_MAX) return hw->disarm();
  return hw->arm_by(target);
}

bool arm_tick_slice(Task& task, uint64_t ticks) {
  if (HwThreadTicks* hw = hw_thread_ticks(task)) return hw->arm_after(ticks);
  uint64_t fields[2];  // count, target
  if (!task.read_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_COUNT, fields, sizeof fields)) return false;
  const uint64_t now = fields[0] + fields[1];
  const uint64_t target = ticks ? now + ticks : UINT64_MAX;
  if (now == 0 || fields[1] == target) return true;
  const uint64_t wanted[2] = {now - target, target};
  return task.write_mem(RRX_TICK_PAGE_ADDR + RRX_TICK_OFF_COUNT, wanted, sizeof wanted);
}

bool arm_ticks_by(Task& task, uint64_t target) {
  if (HwThreadTicks* hw = hw_thread_ticks(task)) return hw->arm_by(target);
  return page_ticks(task) < target && set_page_target(task, target);
}

bool take_tick_interrupt(Task& task, int sig) {
  if (HwThreadTicks* hw = hw_thread_ticks(task)) return hw->take_interrupt(sig);
  return sig == SIGTRAP && take_page_trap(task);
}

bool take_tick_trap(Task& task) { return take_tick_interrupt(task, SIGTRAP); }

int tick_interrupt_signal(Task& task) {
  HwThreadTicks* hw = hw_thread_ticks(task);
  return hw ? hw->interrupt_signal() : SIGTRAP;
}

bool tick_interrupts_exact(Task& task) { return hw_thread_ticks(task) == nullptr; }

}  // namespace rrx
