#include "trace/file_saver.h"

#include <fcntl.h>
#include <unistd.h>


#include "trace/file_util.h"

namespace rrx {
namespace {

// A hardlink shares the inode, so it is only the file we were asked for if
// `path` still names the inode that `st` describes.
bool link_same_file(const std::string& path, const std::string& to,
                    const struct stat& st) {
  if (link(path.c_str(), to.c_str()) != 0) return false;
  struct stat linked;
  if (lstat(to.c_str(), &linked) == 0 && linked.st_dev == st.st_dev &&
      linked.st_ino == st.st_ino)
    return true;
  unlink(to.c_str());
  return false;
}

std::string sanitized_basename(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  for (char& c : base)
    if (!is_saved_name_char(c)) c = '_';
  return base.empty() || base == "." || base == ".." ? "file" : base;
}

}  // namespace

std::string FileSaver::fresh_name(const std::string& path) {
  std::string base = sanitized_basename(path);
  return base + "-" + std::to_string(next_index_[base]++);
}

std::string FileSaver::save(const std::string& path, const struct stat& st,
                            bool may_link, std::string* error) {
  int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  Key key{st.st_dev, st.st_ino, st.st_size, mtime_ns};
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;

  std::string name = fresh_name(path);
  std::string saved_path = files_dir_ + "/" + name;
  // Any link failure (EXDEV, EPERM from protected_hardlinks, EMLINK, ...)
  // just means we copy instead; a real problem resurfaces in the copy.
  if (!(may_link && link_same_file(path, saved_path, st)) &&
      !copy_file(path, saved_path, error))
    return "";

  SavedFileInfo info;
  info.name = name;
  info.original_path = path;
  info.mtime_ns = mtime_ns;
  if (!file_digest(saved_path, &info.size, &info.crc32, error)) return "";
  saved_.push_back(std::move(info));
  by_key_.emplace(key, name);
  return name;
}

}  // namespace rrx
