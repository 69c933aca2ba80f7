// The tracer thread faults on cpuid too, while it traces threads that do.
//
// With cpuid faulting (arch_prctl ARCH_SET_CPUID) the kernel rewrites a
// model-specific register at every switch between a thread that faults and
// one that does not; in a virtual machine that write traps to the
// hypervisor. A ptrace stop is two such switches (tracee to tracer and
// back): on the development VM 18 us per stop instead of 3 us. When the
// tracer's thread faults as well, the switches between the two need no
// write. (Turning it on and off around each run would cost two such
// writes per run, more than it saves for runs of one stop: it stays on.)
// The tracer's own cpuid instructions (its libraries ask at times) then
// fault: a SIGSEGV handler, installed once, runs each with faulting
// briefly off and returns its answer, so they behave as usual; any other
// SIGSEGV goes to the handler that was there before, or kills the process
// as it would have. If something replaces the handler, a cpuid of the
// thread would reach that one instead: holders check before each run
// (stop_if_unsafe) and then turn faulting off for good.
#pragma once

#include <chrono>

namespace rrx {

class TracerCpuidFaulting {
 public:
  // With `wanted`, makes the calling thread fault on cpuid if the machine
  // can and the handler is in place; nested holders on one thread share it.
  explicit TracerCpuidFaulting(bool wanted);
  // Back to normal once the last holder on the thread goes (a holder
  // destroyed on another thread leaves the first one faulting, which the
  // handler keeps harmless).
  ~TracerCpuidFaulting();
  TracerCpuidFaulting(const TracerCpuidFaulting&) = delete;
  TracerCpuidFaulting& operator=(const TracerCpuidFaulting&) = delete;

  bool active() const { return active_; }
  // Turns faulting off for good (for this holder) if rrx's SIGSEGV handler
  // is no longer the one installed. Looks at most every few milliseconds
  // (a run can be one stop: writes() makes one per write).
  void stop_if_unsafe();

 private:
  bool active_ = false;
  const int* thread_holders_ = nullptr;  // the count of the thread that made it
  std::chrono::steady_clock::time_point last_check_;
};

}  // namespace rrx
