// The file descriptor tables of the recorded processes, as the recording
// saw them: replay skips most syscalls (a replayed process has almost none
// of its recorded fds), so what each fd was is worked out from the replayed
// syscall events. `rrx spin-off` reports the table and reopens its regular
// files in a live copy (docs/spin-off.md).
//
// What is tracked: fds made by open/openat/openat2/creat (their path, made
// absolute against the process's cwd, and flags), dup*/fcntl(F_DUPFD*),
// pipes, sockets and the other fd-making calls (kind only), close and
// close_range, the file offset moved by read/write/readv/writev/lseek,
// fcntl(F_SETFL/F_SETFD), cwd changes, fork/clone (shared or copied
// tables) and exec (close-on-exec fds go). Duplicated fds share one open
// file description, as in the kernel, so their offset moves together.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rrx {

// One open file description.
struct OpenFile {
  std::string kind;   // "file", "stdio", "pipe", "socket", "eventfd", ...
  std::string path;   // "file": absolute path as opened
  int stdio = -1;     // "stdio": which of the recorder's fds 0-2 it was
  uint64_t flags = 0; // open flags (O_ACCMODE, O_APPEND, O_NONBLOCK, ...)
  uint64_t offset = 0;
};

struct FdEntry {
  int fd = 0;
  bool cloexec = false;
  std::shared_ptr<OpenFile> file;  // shared with dups, in this process or others
};

class FdTables {
 public:
  // The first process starts with the recorder's stdin, stdout and stderr.
  FdTables() = default;
  void start(int32_t root_tid, const std::string& cwd);

  // Reads a NUL-terminated string from the thread's memory ("" if unreadable).
  using StringReader = std::function<std::string(uint64_t addr)>;
  // Reads len bytes at addr (a pipe's fds, openat2's flags); false if it cannot.
  using MemReader = std::function<bool(uint64_t addr, void* buf, size_t len)>;
  // A syscall `nr` of thread `tid` with `args` returned `result`.
  void syscall(int32_t tid, int nr, const uint64_t args[6], int64_t result,
               const StringReader& read_string, const MemReader& read_mem);
  // `child` was created by `parent` (CLONE_FILES / CLONE_FS: shared).
  void new_task(int32_t parent, int32_t child, uint64_t clone_flags);
  // `tid` exec'd (as `new_tid` if a non-leader thread exec'd).
  void exec(int32_t tid, int32_t new_tid);
  void exit(int32_t tid);

  // The table of `tid`'s process by fd number (empty if unknown).
  std::vector<FdEntry> table(int32_t tid) const;
  std::string cwd(int32_t tid) const;

  // A copy sharing nothing with this one (descriptions shared between
  // fds stay shared within the copy): checkpoints keep one.
  FdTables clone() const;

 private:
  struct Table {
    std::map<int, FdEntry> fds;
  };
  struct Fs {
    std::string cwd;
  };
  Table* table_of(int32_t tid) const;
  std::string absolute(int32_t tid, int dirfd, const std::string& path) const;
  void put(int32_t tid, int fd, std::shared_ptr<OpenFile> file, bool cloexec);
  void dup_fd(int32_t tid, int from, int to, bool cloexec);

  std::map<int32_t, std::shared_ptr<Table>> tables_;  // by tid
  std::map<int32_t, std::shared_ptr<Fs>> fs_;         // by tid
};

}  // namespace rrx
