// The hardware tick source: a per-thread perf_event counter of retired
// conditional branches (the "ticks" that, with the registers, name a point
// in a thread's execution), encoded for this CPU with libpfm4.
//
// How the recorder and replayer use it (one HwBranchCounter per thread):
//
//   record:  before resuming a thread, start(time_slice) (0: no slice);
//            at its next stop, read() and add the result to the thread's
//            tick total. A stop with is_interrupt(siginfo) is the end of the
//            time slice: suppress the signal (never deliver it) and record
//            a schedule event with the ticks and registers.
//   replay:  to reach tick total T from current total C with recorded
//            registers R: start(replay_interrupt_period(T - C, skid)); when
//            the interrupt stops the thread (or at once if that was 0),
//            read() to update C, then continue with a breakpoint at R.rip
//            (single-step if the pc is already there) until C == T and the
//            registers equal R. The interrupt always arrives late (skid),
//            never early, so stopping `skid` short guarantees no overshoot.
#pragma once

#include <linux/perf_event.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace rrx {

// The overflow interrupt is this signal, sent by the kernel to the counted
// thread itself (fcntl F_SETOWN_EX + F_SETSIG + O_ASYNC on the counter fd).
// SIGSTKFLT because the x86-64 kernel never raises it and programs do not
// use it, and it is a standard signal so several overflows while one is
// pending collapse into one stop. A program's own SIGSTKFLT is still told
// apart: ours carries si_code POLL_IN/POLL_HUP and si_fd == the counter's
// fd (see is_interrupt), a kill/tgkill carries SI_USER/SI_TKILL.
constexpr int kHwTickSignal = SIGSTKFLT;

// Skid: how many more conditional branches a thread may retire between the
// counter overflowing and the interrupt stopping it (the PMI is taken a few
// instructions late and the signal only at the next return to user space).
// Not measured here (these machines have no PMU): the figures are those rr
// uses in its per-microarchitecture table (src/PerfCounters.cc: 100 for
// every Intel core since Nehalem, 10000 for AMD Zen 1-4, which rr also marks
// as possibly unbounded). Replay stops that many short and finishes with
// breakpoints, so a too-large value only costs time; too small diverges.
constexpr uint64_t kIntelBranchSkid = 100;
constexpr uint64_t kAmdBranchSkid = 10000;

struct HwBranchEvent {
  perf_event_attr attr{};  // ready for perf_event_open (see open())
  std::string pmu;         // libpfm4's name of the core PMU, e.g. "skl"
  std::string spec;        // the libpfm4 event string, e.g. "skl::BR_INST_RETIRED:COND"
  uint64_t skid = 0;       // kIntelBranchSkid or kAmdBranchSkid
};

// Encodes "retired conditional branches" with libpfm4 for the core PMU named
// `pmu` (libpfm4's name, e.g. "icl", "amd64_fam19h_zen3"), or for the
// default core PMU libpfm4 detects on this CPU when `pmu` is empty. The
// attr counts user space only (exclude_kernel/hv/guest), starts disabled
// and pinned. False with a one-line *why if libpfm4 has no such event.
// libpfm4 reads LIBPFM_FORCE_PMU at its first initialisation.
bool encode_conditional_branch_event(const std::string& pmu, HwBranchEvent* event,
                                     std::string* why);

// The overflow period to arm in replay to get `ticks_to_target` closer
// without passing it: ticks_to_target - skid, or 0 (do not arm; go straight
// to breakpoints) when the target is within the skid.
uint64_t replay_interrupt_period(uint64_t ticks_to_target, uint64_t skid);

// Executes exactly `n` retired conditional branches (n >= 1) in a tight asm
// loop: the known workload of the detection and the live tests.
void run_conditional_branches(uint64_t n);

class HwBranchCounter {
 public:
  HwBranchCounter() = default;
  ~HwBranchCounter();
  HwBranchCounter(const HwBranchCounter&) = delete;
  HwBranchCounter& operator=(const HwBranchCounter&) = delete;
  HwBranchCounter(HwBranchCounter&& other) noexcept;
  HwBranchCounter& operator=(HwBranchCounter&& other) noexcept;

  // Opens the counter on thread `tid` (any CPU), disabled, with its overflow
  // signal (kHwTickSignal) directed at that thread. The tracer may call it
  // while the thread is stopped; the counter follows the thread.
  bool open(const HwBranchEvent& event, pid_t tid, std::string* why);
  // Zeroes the count and enables counting; if `interrupt_after` > 0 the
  // thread gets kHwTickSignal once that many events have been counted
  // (plus skid), otherwise never.
  bool start(uint64_t interrupt_after, std::string* why);
  // Disables counting (the count is kept for read()).
  bool stop(std::string* why);
  // No more interrupts (the kernel would otherwise send one every
  // `interrupt_after` events); counting goes on, the count is kept.
  bool disarm(std::string* why);
  // Events counted since the last start().
  bool read(uint64_t* count, std::string* why) const;
  // Whether a signal the thread stopped with is this counter's interrupt.
  bool is_interrupt(const siginfo_t& info) const;

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close();

 private:
  int fd_ = -1;
};

}  // namespace rrx
