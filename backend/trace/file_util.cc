#include "trace/file_util.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "trace/crc32.h"

namespace rrx {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

std::string errno_message(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

ssize_t read_full(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, p + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

ssize_t pread_full(int fd, void* data, size_t size, uint64_t offset) {
  char* p = static_cast<char*>(data);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, p + done, size - done,
                      static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

bool write_new_file(const std::string& path, const std::string& data,
                    std::string* error) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  // fchmod: the umask may only narrow the mode, but we want exactly 0600.
  if (!fd.valid() || fchmod(fd.get(), 0600) != 0 ||
      !write_all(fd.get(), data.data(), data.size()) || fsync(fd.get()) != 0) {
    *error = errno_message(path);
    return false;
  }
  return true;
}

bool write_file_atomic(const std::string& dir, const std::string& name,
                       const std::string& data, std::string* error) {
  std::string tmp = dir + "/." + name + ".tmp";
  unlink(tmp.c_str());  // a leftover from an earlier crash
  if (!write_new_file(tmp, data, error)) return false;
  std::string path = dir + "/" + name;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    *error = errno_message(path);
    unlink(tmp.c_str());
    return false;
  }
  return fsync_path(dir, error);
}

namespace {

// Opens `path` for reading if it is a regular file of its own. A trace's
// files are: a FIFO would block the open, a link to /dev/zero would never
// end, a symlink could lead out of the trace.
UniqueFd open_regular_file(const std::string& path, struct stat* st,
                           std::string* error) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    *error = errno == ELOOP ? path + ": a symbolic link, not a file" : errno_message(path);
    return fd;
  }
  if (fstat(fd.get(), st) != 0 || !S_ISREG(st->st_mode)) {
    *error = path + ": not a regular file";
    fd.reset();
  }
  return fd;
}

}  // namespace

bool read_small_file(const std::string& path, uint64_t max_size,
                     std::string* out, std::string* error) {
  struct stat st;
  UniqueFd fd = open_regular_file(path, &st, error);
  if (!fd.valid()) return false;
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    *error = path + ": too large (" + std::to_string(st.st_size) + " bytes)";
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  ssize_t n = read_full(fd.get(), out->data(), out->size());
  if (n < 0) {
    *error = errno_message(path);
    return false;
  }
  out->resize(static_cast<size_t>(n));
  return true;
}

bool file_digest(const std::string& path, uint64_t* size, uint32_t* crc,
                 std::string* error) {
  struct stat st;
  UniqueFd fd = open_regular_file(path, &st, error);
  if (!fd.valid()) return false;
  std::vector<char> buf(1 << 20);
  *size = 0;
  *crc = 0;
  // Holes (lseek SEEK_HOLE; none where the file system cannot tell) are
  // zeros: counted, not read.
  const off_t end = st.st_size;
  while (static_cast<off_t>(*size) < end) {
    const off_t at = static_cast<off_t>(*size);
    off_t hole = lseek(fd.get(), at, SEEK_HOLE);
    if (hole < 0) hole = end;
    if (hole > at) {
      size_t want = static_cast<size_t>(std::min<off_t>(buf.size(), std::min(hole, end) - at));
      ssize_t n = pread(fd.get(), buf.data(), want, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        *error = n < 0 ? errno_message(path) : path + ": file shrank while being read";
        return false;
      }
      *crc = crc32(buf.data(), static_cast<size_t>(n), *crc);
      *size += static_cast<uint64_t>(n);
      continue;
    }
    off_t data = lseek(fd.get(), at, SEEK_DATA);
    off_t zeros_end = data < 0 ? end : std::min(data, end);  // ENXIO: zeros to the end
    *crc = crc32_zeros(static_cast<uint64_t>(zeros_end - at), *crc);
    *size = static_cast<uint64_t>(zeros_end);
  }
  return true;
}

bool fsync_path(const std::string& path, std::string* error) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || fsync(fd.get()) != 0) {
    *error = errno_message(path);
    return false;
  }
  return true;
}

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


}  // namespace rrx
