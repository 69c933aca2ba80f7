#include "core/tracee_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace rrx {

std::string tracee_fd_link(pid_t tid, int fd) {
  return "/proc/" + std::to_string(tid) + "/fd/" + std::to_string(fd);
}

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

std::string tracee_fd_target(pid_t tid, int fd) { return read_link(tracee_fd_link(tid, fd)); }

bool stat_tracee_fd(pid_t tid, int fd, struct stat* st) {
  return stat(tracee_fd_link(tid, fd).c_str(), st) == 0;
}

int64_t tracee_fd_position(pid_t tid, int fd) {
  std::string path = "/proc/" + std::to_string(tid) + "/fdinfo/" + std::to_string(fd);
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return -1;
  int64_t pos = -1;
  if (fscanf(f, "pos: %" SCNd64, &pos) != 1) pos = -1;
  fclose(f);
  return pos;
}

}  // namespace rrx
