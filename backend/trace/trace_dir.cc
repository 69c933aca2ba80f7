#include "trace/trace_dir.h"

#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "trace/file_util.h"
#include "trace/layout.h"

namespace rrx {
namespace {

constexpr char kLatest[] = "latest-trace";

std::string env(const char* name) {
  const char* value = getenv(name);
  return value ? value : "";
}

std::string home_dir() {
  std::string home = env("HOME");
  if (!home.empty()) return home;
  const passwd* pw = getpwuid(getuid());
  return pw && pw->pw_dir ? pw->pw_dir : "/";
}

// mkdir -p with mode 0700 for every directory it creates.
bool make_dirs(const std::string& path, std::string* error) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = errno_message("cannot create " + prefix);
      return false;
    }
    if (slash == std::string::npos) break;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "cannot create " + path + ": not a directory";
    return false;
  }
  return true;
}

std::string basename_of(const std::string& path) {
  std::string trimmed = path.substr(0, path.find_last_not_of('/') + 1);
  std::string base = trimmed.substr(trimmed.find_last_of('/') + 1);
  return base.empty() ? "trace" : base;
}

}  // namespace

std::string default_trace_root() {
  std::string dir = env("RRX_TRACE_DIR");
  if (!dir.empty()) return dir;
  // The XDG spec says to ignore relative values.
  std::string data = env("XDG_DATA_HOME");
  if (!data.empty() && data[0] == '/') return data + "/rrx";
  return home_dir() + "/.local/share/rrx";
}

std::string next_trace_dir(const std::string& root, const std::string& exe,
                           std::string* error) {
  if (!make_dirs(root, error)) return "";
  std::string base = root + "/" + basename_of(exe) + "-";
  for (unsigned n = 0;; ++n) {
    std::string candidate = base + std::to_string(n);
    struct stat st;
    if (lstat(candidate.c_str(), &st) != 0 && errno == ENOENT) return candidate;
  }
}

bool update_latest_trace(const std::string& root, const std::string& trace_dir,
                         std::string* error) {
  // Inside the root, a relative link keeps working if the root is moved.
  std::string target = trace_dir;
  if (trace_dir.size() > root.size() + 1 &&
      trace_dir.compare(0, root.size() + 1, root + "/") == 0 &&
      trace_dir.find('/', root.size() + 1) == std::string::npos)
    target = trace_dir.substr(root.size() + 1);

  std::string link = root + "/" + kLatest;
  std::string tmp = root + "/." + kLatest + "." + std::to_string(getpid());
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) != 0) {
    *error = errno_message("cannot create " + tmp);
    return false;
  }
  // rename() replaces the old link in one step: readers never see none.
  if (rename(tmp.c_str(), link.c_str()) != 0) {
    *error = errno_message("cannot replace " + link);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::string resolve_trace(const std::string& arg) {
  if (arg.empty()) return default_trace_root() + "/" + kLatest;
  struct stat st;
  if (arg.find('/') != std::string::npos || lstat(arg.c_str(), &st) == 0) return arg;
  std::string in_root = default_trace_root() + "/" + arg;
  return lstat(in_root.c_str(), &st) == 0 ? in_root : arg;
}

std::string latest_trace(const std::string& root) {
  std::string link = root + "/" + kLatest;
  char target[PATH_MAX];
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return "";
  std::string path(target, n);
  return path[0] == '/' ? path : root + "/" + path;
}

void remove_latest_trace(const std::string& root) { unlink((root + "/" + kLatest).c_str()); }

bool is_trace_dir(const std::string& dir) {
  std::string version;
  std::string error;
  return read_small_file(dir + "/" + layout::kVersion, 64, &version, &error) &&
         version.rfind(layout::kVersionPrefix, 0) == 0;
}

}  // namespace rrx
