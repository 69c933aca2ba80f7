#include "core/proc_maps.h"

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
