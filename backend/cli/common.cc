#include <cstdio>

#include "cli/commands.h"

namespace rrx {

int usage_error(const std::string& message) {
  fprintf(stderr, "rrx: %s\n", message.c_str());
  return 1;
}

}  // namespace rrx
