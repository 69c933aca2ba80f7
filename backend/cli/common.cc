#include <sched.h>

#include <cstdio>

#include "cli/commands.h"

namespace rrx {

int usage_error(const std::string& message) {
  fprintf(stderr, "rrx: %s\n", message.c_str());
  return 1;
}

void pin_to_current_cpu() {
  int cpu = sched_getcpu();
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

}  // namespace rrx
