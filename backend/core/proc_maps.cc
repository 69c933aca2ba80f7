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

}  // namespace rrx
