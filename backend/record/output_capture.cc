#include "record/output_capture.h"

#include <sys/mman.h>
#include <unistd.h>

#include "core/registers.h"
#include "core/tracee_fd.h"
#include "syscalls/written_data.h"

namespace rrx {

namespace {

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev;
}

bool is_system_path(const std::string& path) {
  static const char* const kPrefixes[] = {"/usr/", "/lib/", "/lib64/", "/bin/", "/sbin/", "/etc/", "/opt/"};
  if (path.size() >= 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) return false;
  for (const char* prefix : kPrefixes) {
    if (path.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

OutputSinks::OutputSinks() {
  for (int fd = 1; fd <= 2; ++fd) valid_[fd - 1] = fstat(fd, &st_[fd - 1]) == 0;
}

int OutputSinks::match(int fd, const struct stat& st) const {
  if ((fd == 1 || fd == 2) && valid_[fd - 1] && same_file(st_[fd - 1], st)) return fd;
  for (int i = 0; i < 2; ++i) {
    if (valid_[i] && same_file(st_[i], st)) return i + 1;
  }
  return 0;
}

int writes_to_sink(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                   const OutputSinks& sinks) {
  if (desc.fd_write == FdWriteData::kNone) return 0;
  int fd = static_cast<int>(call.args[0]);
  struct stat st;
  return stat_tracee_fd(task.tid(), fd, &st) ? sinks.match(fd, st) : 0;
}

void capture_fd_write(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                      int sink, Event* event) {
  if (sink == 0 || call.result <= 0) return;

  std::string data;
  if (!read_written_data(task, desc, call, static_cast<size_t>(call.result), &data)) return;
  event->echo_fd = sink;
  event->echo_data = std::move(data);
}

std::string save_mapped_source(const std::string& proc_link, const struct stat& st,
                               TraceWriter& writer, std::string* error) {
  std::string target = read_link(proc_link);
  if (is_system_path(target)) return writer.save_file(target, st, true, error);
  return writer.save_file(proc_link, st, false, error);
}

bool capture_mapped_file(const Task& task, const SyscallCall& call, TraceWriter& writer,
                         Event* event, std::string* error) {
  uint64_t flags = call.args[3];
  if ((flags & MAP_ANONYMOUS) || is_syscall_error(static_cast<uint64_t>(call.result))) return true;
  int fd = static_cast<int>(call.args[4]);
  std::string link = tracee_fd_link(task.tid(), fd);
  struct stat st;
  if (stat(link.c_str(), &st) != 0) {
    *error = "cannot stat the file behind a mapping (fd " + std::to_string(fd) + ")";
    return false;
  }
  if (S_ISCHR(st.st_mode) && read_link(link) == "/dev/zero") return true;
  if (!S_ISREG(st.st_mode)) {
    *error = "unsupported mmap of " + read_link(link) + " in process " + std::to_string(task.tid());
    return false;
  }
  event->mapped_file.saved_name = save_mapped_source(link, st, writer, error);
  if (event->mapped_file.saved_name.empty()) return false;
  event->has_mapped_file = true;
  event->mapped_file.offset = call.args[5];
  return true;
}

}  // namespace rrx
