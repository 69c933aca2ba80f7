#include "record/sysv_segments.h"

#include <algorithm>
#include <string>

#include "core/proc_maps.h"

namespace rrx {

void RecordedSegments::on_attach(Task& task, int shmid, uint64_t addr, Event* event) {
  for (const Mapping& m : read_mappings(task.tid())) {
    if (m.start == addr) event->shm_size = m.end - m.start;
  }
  if (!seen_.insert(shmid).second) return;
  constexpr uint64_t kPage = 4096;
  std::string page(kPage, '\0');
  for (uint64_t at = addr; at < addr + event->shm_size; at += kPage) {
    if (!task.read_mem(at, page.data(), kPage)) break;
    if (std::all_of(page.begin(), page.end(), [](char c) { return c == 0; })) continue;
    event->writes.push_back({at, page});
  }
}

}  // namespace rrx
