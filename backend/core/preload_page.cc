#include "core/preload_page.h"

#include <linux/mman.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstddef>

#include "core/remote_syscall.h"
#include "preload/syscallbuf_abi.h"

extern "C" const uint8_t rrx_engine_image[];      // core/engine_image.S
extern "C" const uint8_t rrx_engine_image_end[];

namespace rrx {
namespace {

constexpr uint64_t kHwcap2Fsgsbase = 2;  // HWCAP2_FSGSBASE (asm/hwcap2.h)

}  // namespace

bool map_preload_page(Task& task, uint32_t mode, const struct stat* sinks) {
  const uint64_t span = RRX_PRELOAD_PAGE_SIZE + RRX_ENGINE_SIZE;
  bool ok;
  // Everything read+execute first; the engine's data pages become writable
  // below. /proc/PID/mem writes through the missing write permission.
  int64_t addr = remote_syscall(task, SYS_mmap,
                                {RRX_PRELOAD_PAGE_ADDR, span, PROT_READ | PROT_EXEC,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, ~uint64_t{0}, 0},
                                &ok);
  if (!ok || static_cast<uint64_t>(addr) != RRX_PRELOAD_PAGE_ADDR) return false;
  struct rrx_preload_page page = {};
  page.magic = RRX_PRELOAD_MAGIC;
  page.version = RRX_PRELOAD_VERSION;
  page.mode = mode;
  page.fsgsbase = (getauxval(AT_HWCAP2) & kHwcap2Fsgsbase) != 0;
  for (int i = 0; sinks && i < 2; ++i) {
    page.sink_dev[i] = sinks[i].st_dev;
    page.sink_ino[i] = sinks[i].st_ino;
  }
  struct stat proc;
  if (stat("/proc/self/mem", &proc) == 0) page.proc_dev = proc.st_dev;
  static const uint8_t kSyscallRet[] = {0x0f, 0x05, 0xc3};  // syscall; ret
  const uint64_t entry = RRX_ENGINE_ADDR;  // the image starts with the entry
  size_t image_size = static_cast<size_t>(rrx_engine_image_end - rrx_engine_image);
  if (!task.write_mem(RRX_PRELOAD_PAGE_ADDR, &page, sizeof page) ||
      !task.write_mem(RRX_UNTRACED_SYSCALL_ADDR, kSyscallRet, sizeof kSyscallRet) ||
      !task.write_mem(RRX_SITE_ENTRY_SLOT, &entry, sizeof entry) ||
      !task.write_mem(RRX_ENGINE_ADDR, rrx_engine_image, image_size)) {
    return false;
  }
  int64_t r = remote_syscall(task, SYS_mprotect,
                             {RRX_ENGINE_ADDR + RRX_ENGINE_CODE_SIZE,
                              RRX_ENGINE_SIZE - RRX_ENGINE_CODE_SIZE, PROT_READ | PROT_WRITE, 0, 0, 0},
                             &ok);
  if (!ok || r != 0) return false;
  // (Only now: a filter of the program's that came through exec may refuse
  // the calls above from there.)
  task.untraced_syscall = RRX_UNTRACED_SYSCALL_ADDR;
  return true;
}

bool buffer_wanted(Task& task, uint64_t fs) {
  struct {
    uint32_t wanted, count;
    uint64_t fs;
  } head;
  static_assert(sizeof head == offsetof(rrx_engine_data, all_traced));
  return task.read_mem(RRX_ENGINE_DATA_ADDR, &head, sizeof head) && head.wanted && head.fs == fs &&
         head.count < RRX_ENGINE_THREADS_MAX;
}

bool give_thread_buffer(Task& task, uint64_t fs, uint64_t* addr) {
  uint32_t count;
  if (!task.read_mem(RRX_ENGINE_DATA_ADDR + offsetof(rrx_engine_data, num_threads), &count,
                     sizeof count) ||
      count >= RRX_ENGINE_THREADS_MAX) {
    return false;
  }
  uint64_t flags = MAP_PRIVATE | MAP_ANONYMOUS | (*addr ? MAP_FIXED_NOREPLACE : 0);
  bool ok;
  int64_t got = remote_syscall(task, SYS_mmap,
                               {*addr, RRX_BUFFER_SIZE, PROT_READ | PROT_WRITE, flags, ~uint64_t{0}, 0},
                               &ok);
  if (!ok || (got < 0 && got > -4096) || (*addr && static_cast<uint64_t>(got) != *addr)) return false;
  *addr = static_cast<uint64_t>(got);
  const uint64_t entry[2] = {fs, *addr};
  const uint32_t wanted = 0, next = count + 1;
  const uint64_t data = RRX_ENGINE_DATA_ADDR;
  return task.write_mem(data + offsetof(rrx_engine_data, threads) + count * sizeof entry, entry,
                        sizeof entry) &&
         task.write_mem(data + offsetof(rrx_engine_data, num_threads), &next, sizeof next) &&
         task.write_mem(data + offsetof(rrx_engine_data, buffer_wanted), &wanted, sizeof wanted);
}

bool move_buffer_to_thread_pointer(Task& task, uint64_t fs, uint64_t* buffer) {
  rrx_engine_data data;
  if (fs == 0 || !task.read_mem(RRX_ENGINE_DATA_ADDR, &data, sizeof data) ||
      data.num_threads > RRX_ENGINE_THREADS_MAX) {
    return false;
  }
  uint32_t at_zero = data.num_threads;
  for (uint32_t i = 0; i < data.num_threads; ++i) {
    if (data.threads[i].fs == fs) return false;
    if (data.threads[i].fs == 0 && at_zero == data.num_threads) at_zero = i;
  }
  if (at_zero == data.num_threads) return false;
  *buffer = data.threads[at_zero].buffer;
  const auto fs_offset = reinterpret_cast<const char*>(&data.threads[at_zero].fs) -
                         reinterpret_cast<const char*>(&data);
  return task.write_mem(RRX_ENGINE_DATA_ADDR + fs_offset, &fs, sizeof fs);
}

bool trace_all_calls(Task& task) {
  const uint32_t on = 1;
  return task.write_mem(RRX_ENGINE_DATA_ADDR + offsetof(rrx_engine_data, all_traced), &on, sizeof on);
}

}  // namespace rrx
