#include "replay/run_watchdog.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace rrx {
namespace {

// Ctrl-C must stop a run within 200 ms: a wait is poked after one to two
// of these.
constexpr auto kPokeInterval = std::chrono::milliseconds(50);

}  // namespace

RunWatchdog::~RunWatchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RunWatchdog::arm(bool on) {
  armed_ = on;
  if (on && !thread_.joinable()) thread_ = std::thread([this] { watch(); });
}

void RunWatchdog::waiting(pid_t tid) {
  std::lock_guard<std::mutex> lock(mutex_);
  waiting_ = tid;
  if (tid) ++wait_number_;
}

void RunWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  uint64_t seen = 0;
  while (!quit_) {
    wake_.wait_for(lock, kPokeInterval);
    if (quit_) break;
    if (!armed_ || !waiting_) {
      seen = 0;
      continue;
    }
    if (seen != wait_number_) {  // a wait that began since the last look
      seen = wait_number_;
      continue;
    }
    // The same wait a whole interval later. (The thread may have stopped
    // meanwhile: the signal then waits for its next resume, where the
    // replay suppresses it all the same.)
    poked_ = true;
    syscall(SYS_tkill, waiting_, SIGSTOP);
    seen = 0;
  }
}

}  // namespace rrx

