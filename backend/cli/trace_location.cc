#include "cli/trace_location.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "trace/layout.h"
#include "trace/trace_dir.h"

namespace rrx {

namespace {

std::string canonical(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) ? resolved : "";
}

// The trace in `root` whose recording started last ("" if none).
std::string newest_trace(const std::string& root) {
  std::string newest;
  struct timespec newest_time = {};
  DIR* d = opendir(root.c_str());
  if (!d) return "";
  while (dirent* entry = readdir(d)) {
    std::string path = root + "/" + entry->d_name;
    struct stat st;
    if (entry->d_name[0] == '.' || lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        !is_trace_dir(path) || stat((path + "/" + layout::kVersion).c_str(), &st) != 0) {
      continue;
    }
    if (newest.empty() || st.st_mtim.tv_sec > newest_time.tv_sec ||
        (st.st_mtim.tv_sec == newest_time.tv_sec && st.st_mtim.tv_nsec > newest_time.tv_nsec)) {
      newest = path;
      newest_time = st.st_mtim;
    }
  }
  closedir(d);
  return newest;
}

}  // namespace

std::string locate_trace(const std::string& arg, std::string* error) {
  std::string given = resolve_trace(arg);
  std::string path = canonical(given);
  if (path.empty()) {
    *error = given + ": no such trace";
    return "";
  }
  if (!is_trace_dir(path)) {
    *error = given + " is not an rrx trace (no version file)";
    return "";
  }
  return path;
}

bool is_latest_trace(const std::string& trace) {
  std::string latest = latest_trace(default_trace_root());
  return !latest.empty() && canonical(latest) == trace;
}

void repoint_latest_trace(const std::string& trace) {
  std::string root = default_trace_root();
  std::string target = trace.empty() ? newest_trace(root) : trace;
  std::string error;
  if (target.empty() || !update_latest_trace(root, target, &error)) remove_latest_trace(root);
}

}  // namespace rrx
