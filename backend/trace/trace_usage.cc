#include "trace/trace_usage.h"

#include <dirent.h>
#include <sys/stat.h>

#include <map>
#include <utility>

#include "trace/file_util.h"
#include "trace/layout.h"

namespace rrx {

namespace {

using InodeKey = std::pair<dev_t, ino_t>;

struct Walk {
  // Per inode: its link count and how many names inside the trace it has.
  std::map<InodeKey, std::pair<nlink_t, uint64_t>> inodes;
  std::map<InodeKey, off_t> sizes;
};

bool walk(const std::string& dir, Walk* w, std::map<InodeKey, off_t>* in_files,
          std::string* error) {
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
      ok = walk(path, w, in_files, error);
      if (!ok) break;
      continue;
    }
    InodeKey key{st.st_dev, st.st_ino};
    auto& [links, names] = w->inodes[key];
    links = st.st_nlink;
    ++names;
    w->sizes[key] = st.st_size;
    if (in_files) (*in_files)[key] = st.st_size;
  }
  closedir(d);
  return ok;
}

}  // namespace

bool measure_trace(const std::string& dir, TraceUsage* out, std::string* error) {
  Walk w;
  std::map<InodeKey, off_t> files;
  std::string files_dir = dir + "/" + layout::kFiles;
  struct stat st;
  if (lstat(files_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
      !walk(files_dir, &w, &files, error)) {
    return false;
  }
  Walk rest;
  if (!walk(dir, &rest, nullptr, error)) return false;
  TraceUsage usage;
  for (const auto& [key, size] : rest.sizes) usage.total_bytes += size;
  for (const auto& [key, size] : files) {
    usage.files_bytes += size;
    const auto& [links, names] = w.inodes[key];
    if (links > names) {
      ++usage.linked_outside;
      usage.linked_outside_bytes += size;
    }
  }
  for (const auto& [key, counts] : w.inodes) usage.saved_files += counts.second;
  if (lstat((dir + "/" + layout::kEvents).c_str(), &st) == 0) usage.events_bytes = st.st_size;
  *out = usage;
  return true;
}

}  // namespace rrx
