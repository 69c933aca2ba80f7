#include "trace/trace_usage.h"

#include <dirent.h>
#include <sys/stat.h>

#include <map>
#include <utility>

#include "trace/file_util.h"
#include "trace/layout.h"

namespace rrx {

namespace {

// What the walk learns of one inode.
struct Inode {
  nlink_t links = 0;       // names it has anywhere
  uint64_t names = 0;      // names it has inside the trace
  uint64_t size = 0;
  bool saved = false;      // one of its names is under files/
};

using Inodes = std::map<std::pair<dev_t, ino_t>, Inode>;

// Records every non-directory under `dir`; `saved` marks those in files/.
bool walk(const std::string& dir, bool saved, Inodes* inodes, std::string* error) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    *error = errno_message("cannot read " + dir);
    return false;
  }
  bool ok = true;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISDIR(st.st_mode)) {
      ok = walk(path, saved || name == layout::kFiles, inodes, error);
      if (!ok) break;
      continue;
    }
    Inode& inode = (*inodes)[{st.st_dev, st.st_ino}];
    inode.links = st.st_nlink;
    inode.size = st.st_size;
    ++inode.names;
    inode.saved |= saved;
  }
  closedir(d);
  return ok;
}

}  // namespace

bool measure_trace(const std::string& dir, TraceUsage* out, std::string* error) {
  Inodes inodes;
  if (!walk(dir, false, &inodes, error)) return false;
  TraceUsage usage;
  for (const auto& [key, inode] : inodes) {
    usage.total_bytes += inode.size;
    if (!inode.saved) continue;
    usage.files_bytes += inode.size;
    usage.saved_files += inode.names;
    if (inode.links > inode.names) {
      ++usage.linked_outside;
      usage.linked_outside_bytes += inode.size;
    }
  }
  struct stat st;
  if (lstat((dir + "/" + layout::kEvents).c_str(), &st) == 0) usage.events_bytes = st.st_size;
  *out = usage;
  return true;
}

}  // namespace rrx
