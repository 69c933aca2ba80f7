#include "core/sim_counter_device.h"

#include <errno.h>
#include <signal.h>

#include <algorithm>
#include <random>

#include "core/task.h"
#include "core/tick_counter.h"

namespace rrx {
namespace {

class SimCounterDevice final : public CounterDevice {
 public:
  explicit SimCounterDevice(Task& task)
      : task_(task), random_(static_cast<unsigned>(task.tid())) {}

  bool read(uint64_t* count, std::string*) override {
    *count = counted_;
    return true;
  }

  bool set_overflow(uint64_t after, std::string*) override {
    counted_ = 0;
    armed_ = after > 0;
    std::uniform_int_distribution<uint64_t> late(0, kSimSkid);
    fire_at_ = after + late(random_);
    return true;
  }

  void disable() override { armed_ = false; }

  bool take_interrupt(int sig) override {
    if (sig != SIGTRAP || !take_page_trap(task_)) return false;
    armed_ = false;
    return true;
  }
  int interrupt_signal() const override { return SIGTRAP; }
  uint64_t skid_bound() const override { return kSimSkid; }

  // A run counts only if it starts in user code: resumed inside a syscall
  // (rax is -ENOSYS there, with the call in orig_rax) or onto a `syscall`
  // instruction (injected calls, the program's own) the thread runs no
  // user code before its next stop, while other threads of its process may.
  void before_resume() override {
    Registers regs;
    in_user_code_ = task_.get_regs(&regs) &&
                    !(regs.orig_rax != ~0ULL && regs.rax == static_cast<uint64_t>(-ENOSYS)) &&
                    !task_.at_syscall_insn(regs.rip);
    if (!in_user_code_) return;
    page_at_resume_ = page_ticks(task_);
    // The page is the process's: aim its trap at this thread's overflow.
    uint64_t left = fire_at_ > counted_ ? fire_at_ - counted_ : 1;
    set_page_target(task_, armed_ ? page_at_resume_ + left : UINT64_MAX);
  }

  void after_stop() override {
    if (!in_user_code_) return;
    in_user_code_ = false;
    uint64_t page = page_ticks(task_);
    if (page >= page_at_resume_) counted_ += page - page_at_resume_;  // else a new page (exec)
  }

 private:
  Task& task_;  // owns this device (Task::hw_ticks)
  std::minstd_rand random_;
  uint64_t counted_ = 0;         // since the last set_overflow
  bool armed_ = false;
  uint64_t fire_at_ = 0;         // interrupt when counted_ reaches this
  bool in_user_code_ = false;    // the current run counts
  uint64_t page_at_resume_ = 0;  // the page's count when it began
};

}  // namespace

std::unique_ptr<CounterDevice> open_sim_counter(Task& task) {
  return std::make_unique<SimCounterDevice>(task);
}

}  // namespace rrx
