// Small POSIX file helpers for the trace code. All functions retry EINTR;
// on failure they set *error to "<path>: <strerror>" (or a similar line).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rrx {

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "<what>: <strerror(errno)>".
std::string errno_message(const std::string& what);

bool write_all(int fd, const void* data, size_t size);
// Read until `size` bytes or end of file; return the count, -1 on error.
ssize_t read_full(int fd, void* data, size_t size);
ssize_t pread_full(int fd, void* data, size_t size, uint64_t offset);

// Creates `path` (which must not exist) with mode 0600, writes `data` and
// fsyncs it.
bool write_new_file(const std::string& path, const std::string& data,
                    std::string* error);

// Replaces `dir`/`name` atomically: writes a temporary file in `dir`,
// fsyncs it, renames it over `name` and fsyncs `dir`.
bool write_file_atomic(const std::string& dir, const std::string& name,
                       const std::string& data, std::string* error);

// Reads the whole of `path`, refusing files larger than `max_size`. Only a
// regular file qualifies (no symlink, FIFO or device), as for file_digest.
bool read_small_file(const std::string& path, uint64_t max_size,
                     std::string* out, std::string* error);

// Size and CRC-32 of the contents of `path`, read in bounded pieces. Only
// a regular file qualifies (no symlink, FIFO or device).
bool file_digest(const std::string& path, uint64_t* size, uint32_t* crc,
                 std::string* error);

// Copies `from` to the new file `to` (mode 0700 if `from` is executable by
// anyone, else 0600): copy_file_range, else sendfile, else read/write; a
// sparse file extent by extent, keeping its holes.
bool copy_file(const std::string& from, const std::string& to, std::string* error);

bool fsync_path(const std::string& path, std::string* error);

}  // namespace rrx
