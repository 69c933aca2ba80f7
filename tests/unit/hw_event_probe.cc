// Prints the hardware tick event rrx would use on this CPU, as one line:
//   ok <pmu> <spec> <type> <config in hex> <skid>   or   error <why>
// test_hw_branch_counter runs it with LIBPFM_FORCE_PMU set to pretend to be
// other CPUs: libpfm4 reads that variable once per process and cannot be
// cleanly re-initialised (pfm_terminate leaves earlier PMUs active).
#include <cinttypes>
#include <cstdio>
#include <string>

#include "core/hw_branch_counter.h"

int main() {
  rrx::HwBranchEvent event;
  std::string why;
  if (!rrx::encode_conditional_branch_event("", &event, &why)) {
    printf("error %s\n", why.c_str());
    return 1;
  }
  printf("ok %s %s %u %" PRIx64 " %" PRIu64 "\n", event.pmu.c_str(), event.spec.c_str(),
         event.attr.type, static_cast<uint64_t>(event.attr.config), event.skid);
  return 0;
}
