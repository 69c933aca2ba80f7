// run_watchdog.h - wakes the replay out of a long wait for a running
// tracee, so that a Ctrl-C is seen inside computation that makes no event.
//
// Replay resumes a thread and blocks until it stops; between two events of
// a syscall-free loop that can be seconds. While armed, a thread of ours
// watches those waits: one that has lasted a whole interval gets the waited
// thread a SIGSTOP (a "poke"). The replay suppresses the signal, asks
// whether the user wants to stop, and either stops there or resumes. The
// watchdog never touches the debugger's connection or the tracees' ptrace
// state: that stays the replaying thread's.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace rrx {

class RunWatchdog {
 public:
  RunWatchdog() = default;
  ~RunWatchdog();
  RunWatchdog(const RunWatchdog&) = delete;
  RunWatchdog& operator=(const RunWatchdog&) = delete;

  // The replaying thread: pokes only while armed (a resume that a Ctrl-C
  // may stop). The first arm starts the watchdog's thread.
  void arm(bool on);
  // The replaying thread, around each blocking wait for a tracee's stop:
  // the thread waited for, then 0.
  void waiting(pid_t tid);
  // Whether a SIGSTOP stop just seen is the watchdog's poke (then forgotten).
  bool take_poke() { return poked_.exchange(false); }

 private:
  void watch();

  std::atomic<bool> armed_{false};
  std::atomic<bool> poked_{false};
  std::mutex mutex_;  // waiting_, wait_number_, quit_
  std::condition_variable wake_;
  pid_t waiting_ = 0;
  uint64_t wait_number_ = 0;  // one per wait: a poke needs the same one twice
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace rrx
