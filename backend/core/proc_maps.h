// Reading /proc/<tid>/maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rrx {

struct MapRange {
  uint64_t start = 0;
  uint64_t end = 0;
};

// One line of /proc/<tid>/maps.
struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  bool read = false, write = false, exec = false, shared = false;
  uint64_t offset = 0;  // into the file
  uint64_t dev = 0;     // the file's st_dev (makedev of the maps field)
  uint64_t inode = 0;   // 0: not a file
  std::string path;     // file path, "[stack]", "[vdso]", ... or ""
};

// Every mapping of tid, in address order (empty if it is gone).
std::vector<Mapping> read_mappings(pid_t tid);

// Whether any page of the private file mapping [start, end) of tid is the
// process's own copy (written since it was mapped, so it may differ from the
// file), from /proc/<tid>/pagemap. True if that cannot be read.
bool has_private_copies(pid_t tid, uint64_t start, uint64_t end);

// The range of the mapping named `name` ("[stack]", "[vdso]") in tid.
std::optional<MapRange> find_named_mapping(pid_t tid, const std::string& name);

}  // namespace rrx
