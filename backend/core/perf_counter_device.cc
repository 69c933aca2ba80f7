#include "core/perf_counter_device.h"

#include "core/task.h"

namespace rrx {
namespace {

class PerfCounterDevice final : public CounterDevice {
 public:
  PerfCounterDevice(HwBranchCounter counter, const Task& task, uint64_t skid)
      : counter_(std::move(counter)), task_(task), skid_(skid) {}

  bool read(uint64_t* count, std::string* why) override { return counter_.read(count, why); }
  bool set_overflow(uint64_t after, std::string* why) override {
    return counter_.start(after, why);
  }
  void disable() override { counter_.close(); }
  // The kernel re-arms a sampling event's period after each overflow;
  // the device's interrupt is one-shot, so the period goes once taken.
  bool take_interrupt(int sig) override {
    siginfo_t info;
    if (sig != kHwTickSignal || !task_.get_siginfo(&info) || !counter_.is_interrupt(info)) {
      return false;
    }
    std::string why;
    counter_.disarm(&why);  // at worst a later interrupt, taken and dropped like this one
    return true;
  }
  int interrupt_signal() const override { return kHwTickSignal; }
  uint64_t skid_bound() const override { return skid_; }

 private:
  HwBranchCounter counter_;
  const Task& task_;  // owns this device (Task::hw_ticks)
  uint64_t skid_;
};

}  // namespace

std::unique_ptr<CounterDevice> open_perf_counter(const HwBranchEvent& event, const Task& task,
                                                 std::string* why) {
  HwBranchCounter counter;
  if (!counter.open(event, task.tid(), why) || !counter.start(0, why)) return nullptr;
  return std::make_unique<PerfCounterDevice>(std::move(counter), task, event.skid);
}

}  // namespace rrx
