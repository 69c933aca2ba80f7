#include "core/stack_fingerprint.h"

namespace rrx {

uint64_t stack_fingerprint(const Task& task, uint64_t rsp) {
  uint8_t stack[256] = {};
  task.read_mem(rsp, stack, sizeof stack);
  uint64_t h = 1469598103934665603ull;
  for (uint8_t byte : stack) h = (h ^ byte) * 1099511628211ull;
  return h;
}

}  // namespace rrx
