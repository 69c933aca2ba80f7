// One thread's retired-conditional-branch counter, as the hardware tick
// source (core/hw_tick_source.h) drives it. Two implementations: the PMU's
// (core/perf_counter_device.h, perf_event_open) and a simulation driven by
// the tracee's soft tick page (core/sim_counter_device.h), which behaves the
// way the PMU does where it matters to record and replay: it counts
// exactly, and its overflow interrupt arrives a few branches late.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace rrx {

class Task;

class CounterDevice {
 public:
  virtual ~CounterDevice() = default;

  // Branches counted since the device was opened or last set_overflow().
  // Only valid while the thread is stopped.
  virtual bool read(uint64_t* count, std::string* why) = 0;
  // Zeroes the count and counts on. With `after` > 0 the thread is stopped
  // by the device's interrupt (see take_interrupt) once `after` more
  // branches have been counted: never before, at most skid_bound() after.
  // 0: no interrupt. The interrupt is one-shot: after it, or after the next
  // set_overflow, the device does not interrupt again by itself.
  virtual bool set_overflow(uint64_t after, std::string* why) = 0;
  // Counting off for good (a thread the session lets go of).
  virtual void disable() = 0;
  // At a signal stop of the thread (signal `sig`): whether it is this
  // device's interrupt. Clears it if so (the caller suppresses the signal).
  virtual bool take_interrupt(int sig) = 0;
  // The signal the interrupt stops the thread with.
  virtual int interrupt_signal() const = 0;
  // How many branches late the interrupt may be.
  virtual uint64_t skid_bound() const = 0;
  // Around each run of the thread (from Task's resume calls, and from the
  // sessions' waits through note_tracee_stop): the simulated device counts
  // per thread by watching them; the PMU needs neither.
  virtual void before_resume() {}
  virtual void after_stop() {}
};

}  // namespace rrx
