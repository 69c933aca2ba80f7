// Looking at a tracee's file descriptors through /proc.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rrx {

// The target of a symbolic link ("" if unreadable).
std::string read_link(const std::string& path);

// "/proc/<tid>/fd/<fd>": opening it opens the tracee's file, even deleted.
std::string tracee_fd_link(pid_t tid, int fd);
// Where the fd points ("/usr/lib/x.so", "pipe:[123]", "/tmp/f (deleted)").
std::string tracee_fd_target(pid_t tid, int fd);
bool stat_tracee_fd(pid_t tid, int fd, struct stat* st);
// The fd's file position (the "pos" of /proc/<tid>/fdinfo/<fd>), -1 if
// unreadable.
int64_t tracee_fd_position(pid_t tid, int fd);

}  // namespace rrx
