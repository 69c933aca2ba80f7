// The bytes a write-like syscall (FdWriteData) took from the program's
// memory: recording keeps those that went to its stdout/stderr, replay
// checks the replayed program writes the same ones.
#pragma once

#include <cstddef>
#include <string>

#include "core/task.h"
#include "syscalls/syscall_table.h"

namespace rrx {

// The first `count` bytes `call` writes (from its buffer or iovec array)
// into *data. False if it writes nothing or the memory cannot be read.
bool read_written_data(const Task& task, const SyscallDesc& desc, const SyscallCall& call,
                       size_t count, std::string* data);

}  // namespace rrx
