#include "replay/shared_file_copies.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "trace/file_util.h"

namespace rrx {

SharedFileCopies::~SharedFileCopies() {
  for (const auto& [saved, copy] : copies_) unlink(copy.c_str());
  if (!dir_.empty()) rmdir(dir_.c_str());
}

std::string SharedFileCopies::copy_of(const std::string& saved_path, std::string* error) {
  auto it = copies_.find(saved_path);
  if (it != copies_.end()) return it->second;
  if (dir_.empty()) {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/rrx-shared-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      *error = errno_message("cannot create a directory for shared mappings");
      return "";
    }
    dir_ = pattern;
  }
  std::string copy = dir_ + "/" + std::to_string(copies_.size());
  int in = open(saved_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out = open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = in >= 0 && out >= 0;
  char buf[1 << 16];
  for (ssize_t n; ok && (n = read_full(in, buf, sizeof buf)) != 0;) {
    ok = n > 0 && write_all(out, buf, static_cast<size_t>(n));
  }
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0) ok = false;
  if (!ok) {
    *error = errno_message("cannot copy " + saved_path + " for a shared mapping");
    unlink(copy.c_str());
    return "";
  }
  copies_[saved_path] = copy;
  return copy;
}

}  // namespace rrx
