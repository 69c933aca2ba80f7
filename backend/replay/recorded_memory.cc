#include "replay/recorded_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "core/proc_maps.h"

namespace rrx {

bool write_recorded_memory(Task& task, const MemWrite& w) {
  if (task.write_mem(w.addr, w.data.data(), w.data.size())) return true;
  const uint64_t lo = w.addr, hi = w.addr + w.data.size();
  uint64_t covered = 0;
  for (const Mapping& m : read_mappings(task.tid())) {
    uint64_t from = std::max(lo, m.start), to = std::min(hi, m.end);
    if (from >= to) continue;
    if (!m.shared || m.inode == 0) return false;
    int fd = open(m.path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    ssize_t n = pwrite(fd, w.data.data() + (from - lo), to - from,
                       static_cast<off_t>(m.offset + (from - m.start)));
    close(fd);
    if (n != static_cast<ssize_t>(to - from)) return false;
    covered += to - from;
  }
  return covered == w.data.size();
}

bool shrink_mapped_file(Task& task, const MemRange& shrunk) {
  for (const Mapping& m : read_mappings(task.tid())) {
    if (shrunk.addr < m.start || shrunk.addr >= m.end) continue;
    return m.shared && m.inode != 0 && truncate(m.path.c_str(), static_cast<off_t>(shrunk.len)) == 0;
  }
  return false;
}

}  // namespace rrx
