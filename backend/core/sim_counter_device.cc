#include "core/sim_counter_device.h"

#include <signal.h>

#include <random>

#include "core/task.h"
#include "core/tick_counter.h"

namespace rrx {
namespace {

class SimCounterDevice final : public CounterDevice {
 public:
  explicit SimCounterDevice(Task& task)
      : task_(task), random_(static_cast<unsigned>(task.tid())) {
    start_ = last_seen_ = page_ticks(task_);
  }

  bool read(uint64_t* count, std::string*) override {
    uint64_t page = page_ticks(task_);
    if (page < last_seen_) {  // a new page (exec): bridge with the last count
      carried_ += last_seen_ - start_;
      start_ = 0;
    }
    last_seen_ = page;
    *count = carried_ + page - start_;
    return true;
  }

  bool set_overflow(uint64_t after, std::string* why) override {
    uint64_t ignored;
    read(&ignored, why);
    start_ = last_seen_;
    carried_ = 0;
    if (after == 0) {
      set_page_target(task_, UINT64_MAX);  // fails only before the page exists: nothing armed
      return true;
    }
    std::uniform_int_distribution<uint64_t> late(0, kSimSkid);
    if (!set_page_target(task_, start_ + after + late(random_))) {
      *why = "cannot arm the tick page of thread " + std::to_string(task_.tid());
      return false;
    }
    return true;
  }

  void disable() override { set_page_target(task_, UINT64_MAX); }

  bool take_interrupt(int sig) override { return sig == SIGTRAP && take_page_trap(task_); }
  int interrupt_signal() const override { return SIGTRAP; }
  uint64_t skid_bound() const override { return kSimSkid; }

 private:
  Task& task_;  // owns this device (Task::hw_ticks)
  std::minstd_rand random_;
  uint64_t start_ = 0;      // page count at the last set_overflow
  uint64_t last_seen_ = 0;  // page count at the last read
  uint64_t carried_ = 0;    // counted on pages since replaced (exec)
};

}  // namespace

std::unique_ptr<CounterDevice> open_sim_counter(Task& task) {
  return std::make_unique<SimCounterDevice>(task);
}

}  // namespace rrx
