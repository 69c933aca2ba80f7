#include "cli/marked_output.h"

#include "trace/file_util.h"

namespace rrx {

void MarkedOutput::write(int fd, uint64_t event, const std::string& data) {
  bool& at_start = at_line_start_[fd == 2 ? 1 : 0];
  std::string mark = "[rrx " + std::to_string(event) + "] ";
  std::string out;
  for (char c : data) {
    if (at_start) out += mark;
    out += c;
    at_start = c == '\n';
  }
  write_all(fd, out.data(), out.size());
}

}  // namespace rrx
