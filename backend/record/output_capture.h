// Recording the parts of a syscall that are not plain memory outputs:
// bytes written to our stdout/stderr (re-emitted by replay) and files
// mapped into memory (saved into the trace).
#pragma once

#include <sys/stat.h>

#include <string>

#include "core/task.h"
#include "syscalls/syscall_table.h"
#include "trace/event.h"
#include "trace/trace_writer.h"

namespace rrx {

// Identity of the recorder's own stdout and stderr.
class OutputSinks {
 public:
  OutputSinks();
  // 1 or 2 if `st` is the same file as our stdout/stderr (preferring
  // `fd` itself when it is 1 or 2), else 0.
  int match(int fd, const struct stat& st) const;
  // Their stat (zeroed where unknown), stdout first.
  const struct stat* stats() const { return st_; }

 private:
  bool valid_[2] = {};
  struct stat st_[2] = {};
};

// 1 or 2 if `call` is a write-like syscall whose fd is our stdout/stderr,
// else 0.
int writes_to_sink(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                   const OutputSinks& sinks);

// For a write-like syscall to our stdout/stderr (`sink`, as writes_to_sink
// found it at the call's entry), stores the bytes written into
// event->echo_fd / echo_data.
void capture_fd_write(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                      int sink, Event* event);

// For a successful mmap of a file, saves the file into the trace and fills
// event->mapped_file. Mappings of /dev/zero are left anonymous. Returns
// false (with *error) for mappings replay cannot reproduce.
bool capture_mapped_file(const Task& task, const SyscallCall& call, TraceWriter& writer,
                         Event* event, std::string* error);

// Saves the file behind `proc_link` (/proc/<tid>/exe or /proc/<tid>/fd/N):
// hardlinked when it is a system file (package managers replace those by
// rename, so the linked inode stays as recorded), copied otherwise.
std::string save_mapped_source(const std::string& proc_link, const struct stat& st,
                               TraceWriter& writer, std::string* error);

}  // namespace rrx
