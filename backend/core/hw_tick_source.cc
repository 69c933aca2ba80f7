#include "core/hw_tick_source.h"

#include <unordered_map>

#include "core/perf_counter_device.h"
#include "core/sim_counter_device.h"
#include "core/task.h"

namespace rrx {

namespace {

// The live counters by tid, for note_tracee_stop.
std::unordered_map<pid_t, HwThreadTicks*> by_tid;

// Stands in for a counter that would not open: every read fails with why.
class UnopenedDevice final : public CounterDevice {
 public:
  explicit UnopenedDevice(std::string why) : why_(std::move(why)) {}
  bool read(uint64_t*, std::string* why) override {
    *why = why_;
    return false;
  }
  bool set_overflow(uint64_t, std::string* why) override {
    *why = why_;
    return false;
  }
  void disable() override {}
  bool take_interrupt(int) override { return false; }
  int interrupt_signal() const override { return kHwTickSignal; }
  uint64_t skid_bound() const override { return 0; }

 private:
  std::string why_;
};

std::unique_ptr<CounterDevice> open_device(const Task& task, std::string* why) {
  const TickCounters& counters = *task.tick_counters;
  if (counters.kind == TickCounterKind::kPerf) return open_perf_counter(counters.event, task, why);
  // The simulation writes the tracee's tick page: the tracee changes, not
  // the Task object.
  return open_sim_counter(const_cast<Task&>(task));
}

}  // namespace

HwThreadTicks::HwThreadTicks(std::unique_ptr<CounterDevice> device, uint64_t start, pid_t tid,
                             std::string* failure)
    : device_(std::move(device)), tid_(tid), failure_(failure), base_(start), last_(start) {
  if (tid_) by_tid[tid_] = this;
}

HwThreadTicks::~HwThreadTicks() {
  device_->disable();
  auto it = by_tid.find(tid_);
  if (it != by_tid.end() && it->second == this) by_tid.erase(it);
}

void note_tracee_stop(pid_t tid) {
  if (by_tid.empty()) return;
  auto it = by_tid.find(tid);
  if (it != by_tid.end()) it->second->after_stop();
}

uint64_t HwThreadTicks::ticks() {
  uint64_t count = 0;
  std::string why;
  if (broken_) return last_;
  if (!device_->read(&count, &why)) {
    failed(why);
    return last_;
  }
  last_ = base_ + count;
  return last_;
}

bool HwThreadTicks::restart(uint64_t after) {
  if (broken_) return false;
  uint64_t now = ticks();
  std::string why;
  if (broken_) return false;
  if (!device_->set_overflow(after, &why)) {
    failed(why);
    return false;
  }
  base_ = now;
  return true;
}

bool HwThreadTicks::arm_after(uint64_t n) { return restart(n); }

bool HwThreadTicks::arm_by(uint64_t target) {
  uint64_t now = ticks();
  uint64_t margin = device_->skid_bound();
  if (target <= now || target - now <= margin) {
    disarm();
    return false;
  }
  return restart(target - now - margin);
}

bool HwThreadTicks::take_interrupt(int sig) { return device_->take_interrupt(sig); }


void HwThreadTicks::failed(const std::string& why) {
  broken_ = true;
  if (failure_ && failure_->empty()) *failure_ = "the hardware tick counter failed: " + why;
}


HwThreadTicks* hw_thread_ticks(const Task& task) {
  if (!task.tick_counters || task.tick_counters->kind == TickCounterKind::kNone) return nullptr;
  if (!task.hw_ticks) start_ticks_at(task, 0);
  return task.hw_ticks.get();
}

void start_ticks_at(const Task& task, uint64_t ticks) {
  if (!task.tick_counters || task.tick_counters->kind == TickCounterKind::kNone) return;
  std::string why;
  std::unique_ptr<CounterDevice> device = open_device(task, &why);
  // A thread that cannot be counted fails the session (TickCounters::failure,
  // from its first read); callers need no null checks.
  if (!device) {
    device = std::make_unique<UnopenedDevice>("cannot open the counter of thread " +
                                              std::to_string(task.tid()) + ": " + why);
  }
  task.hw_ticks.reset();  // a replaced counter leaves the registry first
  task.hw_ticks = std::make_unique<HwThreadTicks>(std::move(device), ticks, task.tid(),
                                                 &task.tick_counters->failure);
  task.hw_ticks->ticks();
}

void carry_ticks(const Task& from, const Task& to) {
  if (from.hw_ticks) start_ticks_at(to, from.hw_ticks->last_read());
}

bool is_hw_tick_source(const std::string& ticks) { return ticks == "hw" || ticks == "hw-sim"; }

}  // namespace rrx
