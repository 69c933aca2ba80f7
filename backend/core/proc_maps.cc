#include "core/proc_maps.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace rrx {

std::optional<MapRange> find_named_mapping(pid_t tid, const std::string& name) {
  std::ifstream maps("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() < name.size() ||
        line.compare(line.size() - name.size(), name.size(), name) != 0) {
      continue;
    }
    MapRange range;
    if (sscanf(line.c_str(), "%lx-%lx", &range.start, &range.end) == 2) return range;
  }
  return std::nullopt;
}

bool has_private_copies(pid_t tid, uint64_t start, uint64_t end) {
  // pagemap: one u64 per page; bit 63 present, bit 62 swapped, bit 61 a
  // page of the file (or shared anonymous). A present or swapped page that
  // is not the file's is a copy-on-write copy.
  constexpr uint64_t kPresent = uint64_t{1} << 63, kSwapped = uint64_t{1} << 62,
                     kFilePage = uint64_t{1} << 61;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  int fd = open(("/proc/" + std::to_string(tid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  bool copied = false, readable = true;
  uint64_t entries[512];
  for (uint64_t at = start; at < end && !copied && readable;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(512, (end - at + page - 1) / page));
    ssize_t got = pread(fd, entries, n * sizeof entries[0], static_cast<off_t>(at / page * 8));
    readable = got == static_cast<ssize_t>(n * sizeof entries[0]);
    for (size_t i = 0; readable && i < n; ++i) {
      copied = copied || ((entries[i] & (kPresent | kSwapped)) && !(entries[i] & kFilePage));
    }
    at += n * page;
  }
  close(fd);
  return copied || !readable;
}

std::vector<Mapping> read_mappings(pid_t tid) {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    Mapping m;
    char perms[5] = {};
    unsigned long long dev_major = 0, dev_minor = 0;
    int path_at = 0;
    if (sscanf(line.c_str(), "%lx-%lx %4s %lx %llx:%llx %lu %n", &m.start, &m.end, perms,
               &m.offset, &dev_major, &dev_minor, &m.inode, &path_at) < 7) {
      continue;
    }
    m.dev = makedev(dev_major, dev_minor);
    m.read = perms[0] == 'r';
    m.write = perms[1] == 'w';
    m.exec = perms[2] == 'x';
    m.shared = perms[3] == 's';
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(path_at);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace rrx
