#include "trace/file_saver.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "trace/file_util.h"

namespace rrx {
namespace {

constexpr size_t kCopyStep = size_t{1} << 30;

// Errors meaning "this copy method does not work for these two files", after
// which the next, more general method is tried from the current offsets.
bool method_unsupported(int err) {
  return err == EXDEV || err == EINVAL || err == ENOSYS ||
         err == EOPNOTSUPP || err == EBADF;
}

// Copies the rest of `in` to `out`: copy_file_range (reflinks or in-kernel
// copy), else sendfile, else read/write through a bounded buffer.
bool copy_fd(int in, int out) {
  for (;;) {
    ssize_t n = copy_file_range(in, nullptr, out, nullptr, kCopyStep, 0);
    if (n > 0) continue;
    if (n == 0) return true;
    if (errno == EINTR) continue;
    if (!method_unsupported(errno)) return false;
    break;
  }
  for (;;) {
    ssize_t n = sendfile(out, in, nullptr, kCopyStep);
    if (n > 0) continue;
    if (n == 0) return true;
    if (errno == EINTR) continue;
    if (!method_unsupported(errno)) return false;
    break;
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read_full(in, buf.data(), buf.size());
    if (n < 0) return false;
    if (n == 0) return true;
    if (!write_all(out, buf.data(), static_cast<size_t>(n))) return false;
  }
}

// Copies the `len` bytes at `offset` of `in` to the same place in `out`.
bool copy_range(int in, int out, off_t offset, off_t len) {
  off_t in_off = offset, out_off = offset;
  while (len > 0) {
    ssize_t n = copy_file_range(in, &in_off, out, &out_off, static_cast<size_t>(len), 0);
    if (n > 0) {
      len -= n;
      continue;
    }
    if (n == 0) return true;  // the file shrank meanwhile
    if (errno == EINTR) continue;
    if (!method_unsupported(errno)) return false;
    break;
  }
  std::vector<char> buf(1 << 20);
  while (len > 0) {
    ssize_t n = pread(in, buf.data(), std::min<off_t>(len, buf.size()), in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0;
    if (pwrite(out, buf.data(), n, out_off) != n) return false;
    in_off += n;
    out_off += n;
    len -= n;
  }
  return true;
}

// Copies a file with holes (a memfd or a file grown by ftruncate, often
// gigabytes of them) extent by extent: the copy keeps the holes.
bool copy_sparse(int in, int out, off_t size) {
  off_t data = 0;
  while ((data = lseek(in, data, SEEK_DATA)) >= 0 && data < size) {
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0 || !copy_range(in, out, data, std::min(hole, size) - data)) return false;
    data = hole;
  }
  if (data < 0 && errno != ENXIO) return false;  // ENXIO: no data past `data`
  return ftruncate(out, size) == 0;
}

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

bool copy_file(const std::string& from, const std::string& to,
               std::string* error) {
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) {
    *error = errno_message(from);
    return false;
  }
  // Owner-only, but executables stay executable: replay execs the copy.
  struct stat in_st;
  mode_t mode = fstat(in.get(), &in_st) == 0 && (in_st.st_mode & 0111) ? 0700 : 0600;
  UniqueFd out(open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!out.valid() || fchmod(out.get(), mode) != 0) {
    *error = errno_message(to);
    return false;
  }
  bool sparse = in_st.st_blocks * 512 < in_st.st_size;
  if (!(sparse ? copy_sparse(in.get(), out.get(), in_st.st_size) : copy_fd(in.get(), out.get()))) {
    *error = errno_message("copying " + from + " to " + to);
    unlink(to.c_str());
    return false;
  }
  return true;
}

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
