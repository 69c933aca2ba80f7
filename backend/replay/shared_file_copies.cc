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
  if (!copy_file(saved_path, copy, error)) {
    *error = "cannot copy " + saved_path + " for a shared mapping: " + *error;
    return "";
  }
  copies_[saved_path] = copy;
  return copy;
}

}  // namespace rrx
