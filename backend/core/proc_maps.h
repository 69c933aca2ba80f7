// Reading /proc/<tid>/maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace rrx {

struct MapRange {
  uint64_t start = 0;
  uint64_t end = 0;
};

// The range of the mapping named `name` ("[stack]", "[vdso]") in tid.
std::optional<MapRange> find_named_mapping(pid_t tid, const std::string& name);

}  // namespace rrx
