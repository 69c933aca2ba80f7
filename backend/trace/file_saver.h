// Saves the files a recording depends on (executables, mapped files) under
// the trace's files/ directory and keeps the list for files.manifest.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "trace/meta_files.h"

namespace rrx {

class FileSaver {
 public:
  explicit FileSaver(std::string files_dir) : files_dir_(std::move(files_dir)) {}

  // See TraceWriter::save_file.
  std::string save(const std::string& path, const struct stat& st,
                   bool may_link, std::string* error);

  const std::vector<SavedFileInfo>& saved() const { return saved_; }

 private:
  // Identifies one version of one file: device, inode, size, mtime in ns.
  using Key = std::tuple<dev_t, ino_t, off_t, int64_t>;

  std::string fresh_name(const std::string& path);

  std::string files_dir_;
  std::map<Key, std::string> by_key_;
  std::map<std::string, unsigned> next_index_;  // per sanitized basename
  std::vector<SavedFileInfo> saved_;
};

}  // namespace rrx
