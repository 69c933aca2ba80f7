#include "record/mapped_data_files.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "core/proc_maps.h"
#include "core/tracee_fd.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {
namespace {

bool is_elf(pid_t tid, int fd) {
  int own = open(tracee_fd_link(tid, fd).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (own < 0) return false;
  char magic[SELFMAG];
  bool elf = pread(own, magic, sizeof magic, 0) == SELFMAG && memcmp(magic, ELFMAG, SELFMAG) == 0;
  close(own);
  return elf;
}

// Lists the file as entry `index` of the process's preload page, or marks
// the list overflowed.
void list_in_preload_page(Task& task, size_t index, const struct stat& st) {
  const uint64_t page = RRX_PRELOAD_PAGE_ADDR;
  if (index >= RRX_MAPPED_FILES_MAX) {
    uint32_t overflow = 1;
    task.write_mem(page + offsetof(rrx_preload_page, mapped_overflow), &overflow, sizeof overflow);
    return;
  }
  uint64_t dev = st.st_dev, ino = st.st_ino;
  uint32_t count = static_cast<uint32_t>(index + 1);
  task.write_mem(page + offsetof(rrx_preload_page, mapped_dev) + index * 8, &dev, 8);
  task.write_mem(page + offsetof(rrx_preload_page, mapped_ino) + index * 8, &ino, 8);
  task.write_mem(page + offsetof(rrx_preload_page, mapped_count), &count, sizeof count);
}

}  // namespace

void MappedDataFiles::on_mmap(Task& task, pid_t tgid, int fd, bool preload_page) {
  struct stat st;
  if (!stat_tracee_fd(task.tid(), fd, &st) || !S_ISREG(st.st_mode)) return;
  std::set<FileId>& files = files_[tgid];
  FileId id{st.st_dev, st.st_ino};
  if (files.count(id) || is_elf(task.tid(), fd)) return;
  files.insert(id);
  if (preload_page) list_in_preload_page(task, files.size() - 1, st);
}

void MappedDataFiles::on_fork(pid_t parent, pid_t child) {
  auto it = files_.find(parent);
  if (it != files_.end()) files_[child] = it->second;
}

void MappedDataFiles::forget(pid_t tgid) { files_.erase(tgid); }

bool MappedDataFiles::is_mapped(const Task& task, pid_t tgid, int fd, struct stat* st) const {
  auto it = files_.find(tgid);
  return it != files_.end() && !it->second.empty() && stat_tracee_fd(task.tid(), fd, st) &&
         it->second.count({st->st_dev, st->st_ino});
}

int64_t MappedDataFiles::size_before(const Task& task, pid_t tgid, const SyscallDesc& desc,
                                     const SyscallCall& call) const {
  const FileWrite& fw = desc.file_write;
  struct stat st;
  if (fw.fd_arg < 0 || !fw.sizes ||
      !is_mapped(task, tgid, static_cast<int>(call.args[fw.fd_arg]), &st))
    return -1;
  return st.st_size;
}

void MappedDataFiles::changed_memory(const Task& task, pid_t tgid, const SyscallDesc& desc,
                                     const SyscallCall& call, int64_t size_before,
                                     std::vector<MemWrite>* out, MemRange* shrunk) const {
  const FileWrite& fw = desc.file_write;
  if (fw.fd_arg < 0 || call.result < 0) return;
  const int fd = static_cast<int>(call.args[fw.fd_arg]);
  struct stat st;
  if (!is_mapped(task, tgid, fd, &st)) return;
  // The file ranges whose bytes may have changed.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  const int64_t length = fw.length_arg >= 0 ? static_cast<int64_t>(call.args[fw.length_arg])
                                            : call.result;
  if (fw.writes_bytes && length > 0) {
    int64_t start = -1;
    const uint64_t arg = fw.offset_arg >= 0 ? call.args[fw.offset_arg] : 0;
    if (fw.offset_ptr && arg != 0) {
      int64_t after;
      if (task.read_mem(arg, &after, sizeof after)) start = after - length;
    } else if (fw.offset_arg >= 0 && !fw.offset_ptr && static_cast<int64_t>(arg) != -1) {
      start = static_cast<int64_t>(arg);
    } else {
      start = tracee_fd_position(task.tid(), fd) - length;  // it advanced past them
    }
    if (start >= 0) ranges.emplace_back(start, start + length);
  }
  // Growing makes pages of the mappings valid (zeros); shrinking makes
  // them fault (private mappings, whose pages replay maps from the trace's
  // copy, are not followed: see docs/architecture.md).
  if (fw.sizes && size_before >= 0 && st.st_size > size_before) {
    ranges.emplace_back(size_before, st.st_size);
  }
  if (fw.sizes && size_before >= 0 && st.st_size < size_before) {
    for (const Mapping& m : read_mappings(task.tid())) {
      if (m.inode == st.st_ino && m.dev == st.st_dev && m.shared) {
        *shrunk = {m.start, static_cast<uint64_t>(st.st_size)};
      }
    }
  }
  if (ranges.empty()) return;
  for (const Mapping& m : read_mappings(task.tid())) {
    if (m.inode != st.st_ino || m.dev != st.st_dev) continue;
    for (const auto& [lo, hi] : ranges) {
      uint64_t from = std::max(lo, m.offset), to = std::min(hi, m.offset + (m.end - m.start));
      if (from >= to) continue;
      MemWrite w;
      w.addr = m.start + (from - m.offset);
      w.data.resize(to - from);
      if (task.read_mem(w.addr, w.data.data(), w.data.size())) out->push_back(std::move(w));
    }
  }
}

}  // namespace rrx
