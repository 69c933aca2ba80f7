#include "core/pmu.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>

#include "core/hw_branch_counter.h"

namespace rrx {
namespace {

bool exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

// A hint for the usual reasons perf_event_open refuses a hardware event.
std::string open_failure_hint(const std::string& error) {
  if (error.find("No such file") != std::string::npos &&
      !exists("/sys/bus/event_source/devices/cpu") &&
      !exists("/sys/bus/event_source/devices/cpu_core")) {
    return " (the kernel has no CPU PMU here: /sys/bus/event_source/devices/cpu is "
           "missing, as in VMs without a virtual PMU)";
  }
  if (error.find("Permission denied") != std::string::npos ||
      error.find("not permitted") != std::string::npos) {
    int paranoid = 0;
    std::ifstream("/proc/sys/kernel/perf_event_paranoid") >> paranoid;
    return " (kernel.perf_event_paranoid is " + std::to_string(paranoid) +
           "; user-space counting of one's own processes needs <= 2)";
  }
  return "";
}

}  // namespace

bool hardware_branch_counter_available(std::string* why) {
  HwBranchEvent event;
  std::string error;
  if (!encode_conditional_branch_event("", &event, &error)) {
    *why = error;
    return false;
  }
  char raw[64];
  snprintf(raw, sizeof raw, "type %u config %#llx", event.attr.type,
           static_cast<unsigned long long>(event.attr.config));
  std::string what = event.spec + " (" + raw + ")";
  HwBranchCounter counter;
  if (!counter.open(event, gettid(), &error)) {
    *why = what + ": " + error + open_failure_hint(error);
    return false;
  }
  // Some hypervisors accept the event but never count: insist on a count.
  constexpr uint64_t kLoop = 10000;
  uint64_t count = 0;
  if (!counter.start(0, &error)) {
    *why = what + ": " + error;
    return false;
  }
  run_conditional_branches(kLoop);
  if (!counter.stop(&error) || !counter.read(&count, &error)) {
    *why = what + ": " + error;
    return false;
  }
  if (count < kLoop) {
    *why = what + " counted " + std::to_string(count) + " of " + std::to_string(kLoop) +
           " conditional branches";
    return false;
  }
  return true;
}

}  // namespace rrx
