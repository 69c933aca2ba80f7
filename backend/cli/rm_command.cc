#include <ftw.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"
#include "cli/trace_location.h"

namespace rrx {

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

}  // namespace

int rm_command(const std::string& arg) {
  std::string error;
  std::string trace = locate_trace(arg, &error);
  if (trace.empty()) return usage_error("rm: " + error);
  bool was_latest = is_latest_trace(trace);
  // Depth first, never following symbolic links out of the trace.
  if (nftw(trace.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    return usage_error("rm: cannot remove all of " + trace + ": " + strerror(errno));
  }
  if (was_latest) repoint_latest_trace("");
  return 0;
}

}  // namespace rrx
