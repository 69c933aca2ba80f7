// The hardware tick source: one thread's count of retired conditional
// branches kept by a CounterDevice (core/counter_device.h), either the
// PMU's (perf_event_open) or the simulated one (`--ticks=hw-sim`).
//
// The device's count restarts at every set_overflow; HwThreadTicks keeps
// the thread's total (base + device count) and turns the session's wishes
// into overflow periods:
//   record: arm_after(slice): the slice ends a few branches late, wherever
//           the interrupt lands; the recorder names that point by the count
//           and the registers.
//   replay: arm_by(target): the period stops the skid bound short of the
//           target, so the late interrupt never passes it; the session then
//           finds the exact point with breakpoints (or single steps) until
//           count and registers match the recorded ones.
// Every event of a hw-tick trace carries the thread's count; replay checks
// it (a different count is a divergence, found at the first event after it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/counter_device.h"
#include "core/hw_branch_counter.h"

namespace rrx {

class Task;

class HwThreadTicks {
 public:
  // `start`: the thread's count when the device was opened (0 for a new
  // thread; a checkpoint copy's goes on from its original's).
  // `tid`: the thread, for note_tracee_stop (0: none, as in unit tests).
  // `failure`: where the first failure of the device goes (may be null).
  HwThreadTicks(std::unique_ptr<CounterDevice> device, uint64_t start, pid_t tid = 0,
                std::string* failure = nullptr);
  ~HwThreadTicks();
  HwThreadTicks(const HwThreadTicks&) = delete;
  HwThreadTicks& operator=(const HwThreadTicks&) = delete;

  // The thread's total. After a device failure, the last good total (and
  // the session's TickCounters::failure says why).
  uint64_t ticks();
  // The total at the last ticks(), without reading the device.
  uint64_t last_read() const { return last_; }
  // Record's time slice: interrupt once `n` more are counted; 0 disarms.
  bool arm_after(uint64_t n);
  // Replay: an interrupt at or before tick `target` (never after: the
  // period leaves the device's skid bound as margin). False, nothing armed,
  // when the target is within that margin (or passed).
  bool arm_by(uint64_t target);
  bool disarm() { return arm_after(0); }
  // See CounterDevice::take_interrupt. A late interrupt of a slice the
  // session already gave up is still ours (and still suppressed).
  bool take_interrupt(int sig);
  int interrupt_signal() const { return device_->interrupt_signal(); }
  void before_resume() { device_->before_resume(); }
  void after_stop() { device_->after_stop(); }

 private:
  bool restart(uint64_t after);
  void failed(const std::string& why);

  std::unique_ptr<CounterDevice> device_;
  pid_t tid_;
  std::string* failure_;
  uint64_t base_;
  uint64_t last_ = 0;
  bool broken_ = false;  // the device failed: the count stays at last_
};

// A record or replay session's choice of counter for its threads (every
// Task it makes points at it), and the first failure of any of them.
enum class TickCounterKind { kNone, kPerf, kSim };
struct TickCounters {
  TickCounterKind kind = TickCounterKind::kNone;
  HwBranchEvent event;   // kPerf: what to open
  std::string failure;   // "" while every counter works; the recorder fails
                         // with it, replay reports it as a divergence
};

// `task`'s hardware ticks (opened at the first call, normally from the
// thread's first resume so that every branch it runs is counted); null when
// its session counts no hardware ticks.
HwThreadTicks* hw_thread_ticks(const Task& task);
// A thread that goes on under a new Task (a checkpoint's copy) counts on
// from `ticks`.
void start_ticks_at(const Task& task, uint64_t ticks);
// A thread that took over its leader's tid at exec (now under `to`): its
// count goes on from the last one read under `from` (at its execve entry
// event; no user code has run since).
void carry_ticks(const Task& from, const Task& to);
// Every wait that returns a tracee's stop tells the thread's counter
// (core/stop.h's wait_for does; so does the recorder's wait for any).
void note_tracee_stop(pid_t tid);

// The trace header's names: "hw" (the PMU), "hw-sim" (the simulation,
// for tests), and whether a source is one of those.
bool is_hw_tick_source(const std::string& ticks);

}  // namespace rrx
