#include "syscalls/written_data.h"

#include <sys/uio.h>

#include <algorithm>

namespace rrx {

bool read_written_data(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                       size_t count, std::string* data) {
  data->clear();
  if (desc.fd_write == FdWriteData::kNone) return false;
  if (desc.fd_write == FdWriteData::kBuffer) {
    data->resize(count);
    return task.read_mem(call.args[1], data->data(), count);
  }
  size_t remaining = count;
  for (uint64_t i = 0; i < call.args[2] && remaining > 0; ++i) {
    struct iovec iov;
    if (!task.read_mem(call.args[1] + i * sizeof iov, &iov, sizeof iov)) return false;
    size_t n = std::min(remaining, iov.iov_len);
    size_t old = data->size();
    data->resize(old + n);
    if (!task.read_mem(reinterpret_cast<uint64_t>(iov.iov_base), data->data() + old, n)) {
      return false;
    }
    remaining -= n;
  }
  return remaining == 0;
}

}  // namespace rrx
