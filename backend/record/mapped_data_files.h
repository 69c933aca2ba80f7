// Writes to files the program has mapped. A write(2) to a file changes
// what the file's mappings show (shared ones, and the pages of private ones
// the process has not written to). Replay does not run the write, so the
// recorder saves the mapped bytes it changed as outputs of the syscall.
// Writes that syscall buffering would hide are kept traced: the data files
// a process maps are listed in its preload page (preload/syscallbuf_abi.h).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/task.h"
#include "syscalls/syscall_table.h"
#include "trace/event.h"

namespace rrx {

class MappedDataFiles {
 public:
  // After `task` (of process `tgid`) mapped file descriptor `fd`: remembers
  // the file if it holds data (regular, not an ELF object: code and its
  // libraries are not written while they run) and lists it in the
  // process's preload page when `preload_page`.
  void on_mmap(Task& task, pid_t tgid, int fd, bool preload_page);
  void on_fork(pid_t parent, pid_t child);
  void forget(pid_t tgid);  // exec or exit

  // At the entry of a syscall that may grow a file (desc.file_write.sizes):
  // the file's size if it is a mapped data file of the process, else -1.
  int64_t size_before(const Task& task, pid_t tgid, const SyscallDesc& desc,
                      const SyscallCall& call) const;

  // After a syscall of `task` that changed a file (desc.file_write):
  // appends the memory of its process that shows bytes the call wrote or
  // a growth from `size_before` made valid.
  // A shrink is noted in *shrunk (a shared mapping of the file, its new
  // size): the pages past the end now fault, in replay too.
  void changed_memory(const Task& task, pid_t tgid, const SyscallDesc& desc,
                      const SyscallCall& call, int64_t size_before,
                      std::vector<MemWrite>* out, MemRange* shrunk) const;

 private:
  using FileId = std::pair<uint64_t, uint64_t>;  // st_dev, st_ino
  // Whether fd of `task` is a data file its process `tgid` has mapped
  // (stat of it in *st).
  bool is_mapped(const Task& task, pid_t tgid, int fd, struct stat* st) const;
  std::map<pid_t, std::set<FileId>> files_;  // by process
};

}  // namespace rrx
