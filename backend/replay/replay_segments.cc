#include "replay/replay_segments.h"

#include <sys/ipc.h>
#include <sys/shm.h>

#include <cerrno>
#include <cstring>

namespace rrx {

ReplaySegments::~ReplaySegments() {
  for (const auto& [recorded, id] : ids_) shmctl(id, IPC_RMID, nullptr);
}

int ReplaySegments::segment_for(int shmid, const Event& attach, std::string* error) {
  if (auto it = ids_.find(shmid); it != ids_.end()) return it->second;
  int id = shmget(IPC_PRIVATE, attach.shm_size, IPC_CREAT | 0600);
  void* local = id < 0 ? reinterpret_cast<void*>(-1) : shmat(id, nullptr, 0);
  if (local == reinterpret_cast<void*>(-1)) {
    *error = "cannot make a SysV shared memory segment of " + std::to_string(attach.shm_size) +
             " bytes: " + strerror(errno);
    if (id >= 0) shmctl(id, IPC_RMID, nullptr);
    return -1;
  }
  // What the segment held when the recording first attached it.
  const uint64_t base = attach.regs.rax;
  for (const MemWrite& w : attach.writes) {
    if (w.addr >= base && w.addr - base + w.data.size() <= attach.shm_size) {
      memcpy(static_cast<char*>(local) + (w.addr - base), w.data.data(), w.data.size());
    }
  }
  shmdt(local);
  ids_[shmid] = id;
  return id;
}

}  // namespace rrx
