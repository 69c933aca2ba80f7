#include "core/preload_page.h"

#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "core/remote_syscall.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {

bool map_preload_page(Task& task, uint32_t mode, const struct stat* sinks) {
  bool ok;
  int64_t addr = remote_syscall(task, SYS_mmap,
                                {RRX_PRELOAD_PAGE_ADDR, RRX_PRELOAD_PAGE_SIZE, PROT_READ | PROT_EXEC,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ~uint64_t{0}, 0},
                                &ok);
  if (!ok || static_cast<uint64_t>(addr) != RRX_PRELOAD_PAGE_ADDR) return false;
  struct rrx_preload_page page = {};
  page.magic = RRX_PRELOAD_MAGIC;
  page.version = RRX_PRELOAD_VERSION;
  page.mode = mode;
  for (int i = 0; sinks && i < 2; ++i) {
    page.sink_dev[i] = sinks[i].st_dev;
    page.sink_ino[i] = sinks[i].st_ino;
  }
  static const uint8_t kSyscallRet[] = {0x0f, 0x05, 0xc3};  // syscall; ret
  // /proc/PID/mem writes through the page's missing write permission.
  return task.write_mem(RRX_PRELOAD_PAGE_ADDR, &page, sizeof page) &&
         task.write_mem(RRX_UNTRACED_SYSCALL_ADDR, kSyscallRet, sizeof kSyscallRet);
}

}  // namespace rrx
