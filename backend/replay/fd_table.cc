#include "replay/fd_table.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

namespace rrx {

namespace {

// The fd-making calls that are neither files nor pipes/sockets, by name.
const char* other_kind(int nr) {
  switch (nr) {
    case SYS_eventfd:
    case SYS_eventfd2: return "eventfd";
    case SYS_epoll_create:
    case SYS_epoll_create1: return "epoll";
    case SYS_timerfd_create: return "timerfd";
    case SYS_signalfd:
    case SYS_signalfd4: return "signalfd";
    case SYS_inotify_init:
    case SYS_inotify_init1: return "inotify";
    case SYS_memfd_create: return "memfd";
    case SYS_userfaultfd: return "userfaultfd";
    case SYS_pidfd_open: return "pidfd";
    case SYS_perf_event_open: return "perf_event";
    case SYS_fanotify_init: return "fanotify";
    default: return nullptr;
  }
}

// Where a call's "close on exec" flag is, for the fd it makes.
bool cloexec_of(int nr, const uint64_t a[6]) {
  switch (nr) {
    case SYS_open: return a[1] & O_CLOEXEC;
    case SYS_openat: return a[2] & O_CLOEXEC;
    case SYS_pipe2: return a[1] & O_CLOEXEC;
    case SYS_socket:
    case SYS_socketpair: return a[1] & SOCK_CLOEXEC;
    case SYS_accept4: return a[3] & SOCK_CLOEXEC;
    case SYS_eventfd2:
    case SYS_epoll_create1:
    case SYS_inotify_init1: return a[0] & O_CLOEXEC;
    case SYS_signalfd4: return a[3] & O_CLOEXEC;
    case SYS_timerfd_create: return a[1] & O_CLOEXEC;
    case SYS_memfd_create: return a[1] & 1;  // MFD_CLOEXEC
    default: return false;
  }
}

std::string join(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  if (path == ".") return dir;
  return dir == "/" ? "/" + path : dir + "/" + path;
}

}  // namespace

void FdTables::start(int32_t root_tid, const std::string& cwd) {
  auto table = std::make_shared<Table>();
  for (int fd = 0; fd < 3; ++fd) {
    auto file = std::make_shared<OpenFile>();
    file->kind = "stdio";
    file->stdio = fd;
    file->flags = fd == 0 ? O_RDONLY : O_WRONLY;
    table->fds[fd] = {fd, false, file};
  }
  tables_[root_tid] = table;
  fs_[root_tid] = std::make_shared<Fs>(Fs{cwd});
}

FdTables::Table* FdTables::table_of(int32_t tid) const {
  auto it = tables_.find(tid);
  return it == tables_.end() ? nullptr : it->second.get();
}

std::string FdTables::absolute(int32_t tid, int dirfd, const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  if (dirfd == AT_FDCWD) return join(cwd(tid), path);
  Table* t = table_of(tid);
  if (!t) return "";
  auto it = t->fds.find(dirfd);
  if (it == t->fds.end() || it->second.file->kind != "file") return "";
  return join(it->second.file->path, path);
}

void FdTables::put(int32_t tid, int fd, std::shared_ptr<OpenFile> file, bool cloexec) {
  Table* t = table_of(tid);
  if (t && fd >= 0) t->fds[fd] = {fd, cloexec, std::move(file)};
}

void FdTables::dup_fd(int32_t tid, int from, int to, bool cloexec) {
  Table* t = table_of(tid);
  if (!t || to < 0) return;
  auto it = t->fds.find(from);
  if (it == t->fds.end()) {
    t->fds.erase(to);  // we did not know `from`: `to` is unknown now
    return;
  }
  t->fds[to] = {to, cloexec, it->second.file};
}

void FdTables::syscall(int32_t tid, int nr, const uint64_t a[6], int64_t result,
                       const StringReader& read_string, const MemReader& read_mem) {
  Table* t = table_of(tid);
  if (!t || (result < 0 && result > -4096)) return;  // failed calls change nothing
  int fd = static_cast<int>(result);
  auto open_path = [&](int dirfd, uint64_t path_addr, uint64_t flags) {
    auto file = std::make_shared<OpenFile>();
    file->kind = "file";
    file->path = absolute(tid, dirfd, read_string(path_addr));
    file->flags = flags & ~static_cast<uint64_t>(O_CLOEXEC);
    if (flags & O_APPEND) file->offset = 0;  // unknown: the end of the file
    put(tid, fd, file, flags & O_CLOEXEC);
  };
  auto pair = [&](uint64_t addr, const char* kind, uint64_t flags) {
    int fds[2];
    if (!read_mem(addr, fds, sizeof fds)) return;
    for (int i = 0; i < 2; ++i) {
      auto file = std::make_shared<OpenFile>();
      file->kind = kind;
      file->flags = std::string(kind) == "pipe" ? (i == 0 ? O_RDONLY : O_WRONLY) : O_RDWR;
      file->flags |= flags & O_NONBLOCK;
      put(tid, fds[i], file, cloexec_of(nr, a));
    }
  };
  auto moved = [&](int which, int64_t by) {
    auto it = t->fds.find(which);
    if (it != t->fds.end() && it->second.file->kind == "file" && by > 0) {
      it->second.file->offset += by;
    }
  };
  switch (nr) {
    case SYS_open: open_path(AT_FDCWD, a[0], a[1]); return;
    case SYS_creat: open_path(AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC); return;
    case SYS_openat: open_path(static_cast<int>(a[0]), a[1], a[2]); return;
    case SYS_openat2: {
      uint64_t flags = 0;  // struct open_how starts with them
      read_mem(a[2], &flags, sizeof flags);
      open_path(static_cast<int>(a[0]), a[1], flags);
      return;
    }
    case SYS_close: t->fds.erase(static_cast<int>(a[0])); return;
    case SYS_close_range: {
      uint64_t first = a[0], last = a[1];
      for (auto it = t->fds.lower_bound(static_cast<int>(first));
           it != t->fds.end() && static_cast<uint64_t>(it->first) <= last;) {
        if (a[2] & CLOSE_RANGE_CLOEXEC) {
          (it++)->second.cloexec = true;
        } else {
          it = t->fds.erase(it);
        }
      }
      return;
    }
    case SYS_dup: dup_fd(tid, static_cast<int>(a[0]), fd, false); return;
    case SYS_dup2: dup_fd(tid, static_cast<int>(a[0]), fd, false); return;
    case SYS_dup3: dup_fd(tid, static_cast<int>(a[0]), fd, a[2] & O_CLOEXEC); return;
    case SYS_fcntl: {
      int which = static_cast<int>(a[0]);
      auto it = t->fds.find(which);
      switch (static_cast<int>(a[1])) {
        case F_DUPFD: dup_fd(tid, which, fd, false); return;
        case F_DUPFD_CLOEXEC: dup_fd(tid, which, fd, true); return;
        case F_SETFD:
          if (it != t->fds.end()) it->second.cloexec = a[2] & FD_CLOEXEC;
          return;
        case F_SETFL: {
          // What F_SETFL can change; the access mode and creation flags stay.
          constexpr uint64_t kSettable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
          if (it != t->fds.end()) {
            OpenFile& f = *it->second.file;
            f.flags = (f.flags & ~kSettable) | (a[2] & kSettable);
          }
          return;
        }
        default: return;
      }
    }
    case SYS_pipe: pair(a[0], "pipe", 0); return;
    case SYS_pipe2: pair(a[0], "pipe", a[1]); return;
    case SYS_socketpair: pair(a[3], "socket", a[1] & O_NONBLOCK); return;
    case SYS_socket:
    case SYS_accept:
    case SYS_accept4: {
      auto file = std::make_shared<OpenFile>();
      file->kind = "socket";
      file->flags = O_RDWR;
      put(tid, fd, file, cloexec_of(nr, a));
      return;
    }
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev: moved(static_cast<int>(a[0]), result); return;
    case SYS_lseek: {
      auto it = t->fds.find(static_cast<int>(a[0]));
      if (it != t->fds.end()) it->second.file->offset = static_cast<uint64_t>(result);
      return;
    }
    case SYS_chdir: {
      std::string path = absolute(tid, AT_FDCWD, read_string(a[0]));
      auto fs = fs_.find(tid);
      if (fs != fs_.end() && !path.empty()) fs->second->cwd = path;
      return;
    }
    case SYS_fchdir: {
      auto it = t->fds.find(static_cast<int>(a[0]));
      auto fs = fs_.find(tid);
      if (it != t->fds.end() && it->second.file->kind == "file" && fs != fs_.end()) {
        fs->second->cwd = it->second.file->path;
      }
      return;
    }
    default:
      break;
  }
  if (const char* kind = other_kind(nr)) {
    auto file = std::make_shared<OpenFile>();
    file->kind = kind;
    file->flags = O_RDWR;
    if (nr == SYS_memfd_create) file->path = "memfd:" + read_string(a[0]);
    put(tid, fd, file, cloexec_of(nr, a));
  }
}

void FdTables::new_task(int32_t parent, int32_t child, uint64_t clone_flags) {
  auto t = tables_.find(parent);
  if (t != tables_.end()) {
    tables_[child] = clone_flags & CLONE_FILES ? t->second : std::make_shared<Table>(*t->second);
  }
  auto fs = fs_.find(parent);
  if (fs != fs_.end()) {
    fs_[child] = clone_flags & CLONE_FS ? fs->second : std::make_shared<Fs>(*fs->second);
  }
}

void FdTables::exec(int32_t tid, int32_t new_tid) {
  auto t = tables_.find(tid);
  if (t == tables_.end()) return;
  // exec unshares the table from the threads that went, then closes what
  // is close-on-exec.
  auto table = std::make_shared<Table>(*t->second);
  for (auto it = table->fds.begin(); it != table->fds.end();) {
    it = it->second.cloexec ? table->fds.erase(it) : std::next(it);
  }
  auto fs = fs_[tid];
  tables_.erase(tid);
  fs_.erase(tid);
  tables_[new_tid] = table;
  fs_[new_tid] = fs;
}

void FdTables::exit(int32_t tid) {
  tables_.erase(tid);
  fs_.erase(tid);
}

std::vector<FdEntry> FdTables::table(int32_t tid) const {
  std::vector<FdEntry> entries;
  if (Table* t = table_of(tid)) {
    for (const auto& [fd, entry] : t->fds) entries.push_back(entry);
  }
  return entries;
}

std::string FdTables::cwd(int32_t tid) const {
  auto fs = fs_.find(tid);
  return fs == fs_.end() ? "" : fs->second->cwd;
}

FdTables FdTables::clone() const {
  FdTables copy;
  std::map<const void*, std::shared_ptr<Table>> tables;
  std::map<const void*, std::shared_ptr<Fs>> fss;
  std::map<const void*, std::shared_ptr<OpenFile>> files;
  for (const auto& [tid, table] : tables_) {
    auto& t = tables[table.get()];
    if (!t) {
      t = std::make_shared<Table>(*table);
      for (auto& [fd, entry] : t->fds) {
        auto& f = files[entry.file.get()];
        if (!f) f = std::make_shared<OpenFile>(*entry.file);
        entry.file = f;
      }
    }
    copy.tables_[tid] = t;
  }
  for (const auto& [tid, fs] : fs_) {
    auto& f = fss[fs.get()];
    if (!f) f = std::make_shared<Fs>(*fs);
    copy.fs_[tid] = f;
  }
  return copy;
}

}  // namespace rrx
