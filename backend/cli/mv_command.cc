#include <stdio.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"
#include "cli/trace_location.h"

namespace rrx {

int mv_command(const MvArgs& args) {
  std::string error;
  std::string from = locate_trace(args.from, &error);
  if (from.empty()) return usage_error("mv: " + error);
  // A bare name stays beside the trace (in the trace root, usually).
  std::string to = args.to;
  if (to.find('/') == std::string::npos) to = from.substr(0, from.rfind('/') + 1) + to;
  struct stat st;
  if (lstat(to.c_str(), &st) == 0) return usage_error("mv: " + to + " already exists");
  bool was_latest = is_latest_trace(from);
  if (rename(from.c_str(), to.c_str()) != 0) {
    return usage_error("mv: cannot move " + from + " to " + to + ": " + strerror(errno));
  }
  if (was_latest) {
    std::string moved = locate_trace(to, &error);
    repoint_latest_trace(moved);
  }
  return 0;
}

}  // namespace rrx
