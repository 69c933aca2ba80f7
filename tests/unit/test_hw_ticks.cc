// The hardware tick source (core/hw_tick_source.h) through its
// CounterDevice interface: the record/replay arithmetic over a fake counter
// with the PMU's habits (exact counts, overflow interrupts up to a skid
// late), the perf_event device on a real traced child (with a software
// stand-in event, since these machines have no PMU), the self-check's
// rules (core/hw_tick_check.h) and the session's choice of counter. The
// PMU's own counter is only exercised where one works (HwTicksLive, which
// skips with the reason elsewhere).
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "page_fault_event.h"

#include "core/hw_tick_check.h"
#include "core/hw_tick_source.h"
#include "core/perf_counter_device.h"
#include "core/pmu.h"
#include "core/task.h"
#include "replay/replay_session.h"
#include "trace/trace_writer.h"

namespace rrx {
namespace {

// ------------------------------------------------------ a fake counter

// A thread's branches as the test runs them, and a counter of them that
// behaves like the PMU's: exact, its overflow interrupt `skid` branches
// after it is due (the test picks the skid, within the bound).
struct FakeThread {
  uint64_t count = 0;  // since the last set_overflow
  uint64_t due = 0;    // interrupt when count reaches due + skid (0: none)
  uint64_t skid = 0;
  bool pending = false;  // the interrupt stopped the thread
  bool broken = false;   // reads fail (a pinned counter taken away)

  // Runs up to `n` branches; true if the interrupt stopped the thread.
  bool run(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      ++count;
      if (due && count == due + skid) {
        due = 0;  // one-shot
        pending = true;
        return true;
      }
    }
    return false;
  }
};

class FakeCounter final : public CounterDevice {
 public:
  FakeCounter(FakeThread* thread, uint64_t bound) : t_(thread), bound_(bound) {}
  bool read(uint64_t* count, std::string* why) override {
    if (t_->broken) {
      *why = "the counter was taken";
      return false;
    }
    *count = t_->count;
    return true;
  }
  bool set_overflow(uint64_t after, std::string*) override {
    t_->count = 0;
    t_->due = after;
    t_->pending = false;
    return true;
  }
  void disable() override { t_->due = 0; }
  bool take_interrupt(int sig) override {
    if (sig != kHwTickSignal || !t_->pending) return false;
    t_->pending = false;
    return true;
  }
  int interrupt_signal() const override { return kHwTickSignal; }
  uint64_t skid_bound() const override { return bound_; }

 private:
  FakeThread* t_;
  uint64_t bound_;
};

constexpr uint64_t kBound = 12;

std::unique_ptr<HwThreadTicks> fake_ticks(FakeThread* thread, uint64_t start = 0) {
  return std::make_unique<HwThreadTicks>(std::make_unique<FakeCounter>(thread, kBound), start);
}

TEST(HwThreadTicks, TotalCarriesAcrossRearming) {
  FakeThread thread;
  auto ticks = fake_ticks(&thread, 1000);  // e.g. a checkpoint's copy
  thread.run(100);
  EXPECT_EQ(ticks->ticks(), 1100u);
  ASSERT_TRUE(ticks->arm_after(50));  // the device's count restarts here
  thread.skid = 3;
  ASSERT_TRUE(thread.run(1000));
  EXPECT_EQ(ticks->ticks(), 1100u + 50 + 3);
  EXPECT_TRUE(ticks->take_interrupt(kHwTickSignal));
  ASSERT_TRUE(ticks->disarm());
  EXPECT_FALSE(thread.run(100000)) << "disarmed: no interrupt";
  EXPECT_EQ(ticks->ticks(), 1100u + 53 + 100000);
  EXPECT_EQ(ticks->last_read(), ticks->ticks());
}

TEST(HwThreadTicks, SliceEndsLateNeverEarly) {
  for (uint64_t skid = 0; skid <= kBound; ++skid) {
    SCOPED_TRACE(skid);
    FakeThread thread;
    auto ticks = fake_ticks(&thread);
    thread.run(777);
    ASSERT_TRUE(ticks->arm_after(200));
    thread.skid = skid;
    ASSERT_TRUE(thread.run(UINT64_MAX));
    ASSERT_TRUE(ticks->take_interrupt(kHwTickSignal));
    EXPECT_EQ(ticks->ticks(), 777u + 200 + skid);
  }
}

// Replay's approach to a recorded point at tick `target`: the interrupt,
// however late, stops at or before the target; single branches (the
// session's steps or breakpoint hits) then reach it exactly, and nothing
// interrupts after.
TEST(HwThreadTicks, ReplayApproachNeverOvershoots) {
  for (uint64_t distance : {uint64_t{1}, uint64_t{5}, kBound, kBound + 1, 2 * kBound, uint64_t{100000}}) {
    for (uint64_t skid = 0; skid <= kBound; ++skid) {
      SCOPED_TRACE("distance " + std::to_string(distance) + " skid " + std::to_string(skid));
      FakeThread thread;
      auto ticks = fake_ticks(&thread, 5000);
      uint64_t target = ticks->ticks() + distance;
      bool armed = ticks->arm_by(target);
      EXPECT_EQ(armed, distance > kBound) << "armed only beyond the skid margin";
      thread.skid = skid;
      if (armed) {
        ASSERT_TRUE(thread.run(distance)) << "the interrupt comes before the target";
        ASSERT_TRUE(ticks->take_interrupt(kHwTickSignal));
        EXPECT_LE(ticks->ticks(), target);
        EXPECT_GE(ticks->ticks(), target - kBound);
      }
      while (ticks->ticks() < target) ASSERT_FALSE(thread.run(1));
      EXPECT_EQ(ticks->ticks(), target);
      EXPECT_FALSE(thread.run(10 * kBound)) << "no stray interrupt past the target";
    }
  }
}

TEST(HwThreadTicks, TargetPassedOrWithinMarginArmsNothing) {
  FakeThread thread;
  auto ticks = fake_ticks(&thread);
  thread.run(500);
  ASSERT_TRUE(ticks->arm_after(10));  // a slice that is then given up
  EXPECT_FALSE(ticks->arm_by(400));
  EXPECT_FALSE(ticks->arm_by(500));
  EXPECT_FALSE(ticks->arm_by(500 + kBound));
  EXPECT_FALSE(thread.run(1000)) << "the given-up slice does not fire";
}

TEST(HwThreadTicks, OnlyItsOwnInterrupt) {
  FakeThread thread;
  auto ticks = fake_ticks(&thread);
  ASSERT_TRUE(ticks->arm_after(10));
  EXPECT_FALSE(ticks->take_interrupt(kHwTickSignal)) << "nothing pending yet";
  ASSERT_TRUE(thread.run(100));
  EXPECT_FALSE(ticks->take_interrupt(SIGTRAP));
  EXPECT_FALSE(ticks->take_interrupt(SIGALRM));
  EXPECT_TRUE(ticks->take_interrupt(kHwTickSignal));
  EXPECT_FALSE(ticks->take_interrupt(kHwTickSignal)) << "taken once";
}

TEST(HwThreadTicks, DeviceFailureIsStickyAndReported) {
  FakeThread thread;
  std::string session_failure;
  auto ticks = std::make_unique<HwThreadTicks>(std::make_unique<FakeCounter>(&thread, kBound), 0,
                                               0, &session_failure);
  thread.run(42);
  EXPECT_EQ(ticks->ticks(), 42u);
  thread.broken = true;
  thread.run(10);
  EXPECT_EQ(ticks->ticks(), 42u) << "the last good total";
  EXPECT_NE(session_failure.find("taken"), std::string::npos) << "the session hears of it";
  EXPECT_FALSE(ticks->arm_after(5));
  thread.broken = false;
  EXPECT_EQ(ticks->ticks(), 42u) << "a failed counter stays failed";
}

// ----------------------------------------- the self-check's judgement

CounterProbe good_probe() {
  CounterProbe p;
  p.branches = 100000;
  p.counts = {100003, 100003, 100003, 100003, 100003};
  p.interrupt_arrived = true;
  p.count_with_interrupt = 100003;
  return p;
}

CpuModel intel() {
  CpuModel cpu;
  cpu.vendor = "GenuineIntel";
  cpu.family = 6;
  cpu.model = 0x55;
  return cpu;
}

CpuModel zen3() {
  CpuModel cpu;
  cpu.vendor = "AuthenticAMD";
  cpu.family = 0x19;
  cpu.model = 0x21;
  return cpu;
}

TEST(HwTickJudge, GoodCounterOnPlainIntelIsUsedSilently) {
  HwTickVerdict v = judge_hw_ticks(intel(), ZenWorkaround::kNotZen, good_probe());
  EXPECT_TRUE(v.usable) << v.refusal;
  EXPECT_TRUE(v.warnings.empty());
}

TEST(HwTickJudge, RefusalsNameTheReason) {
  struct Case {
    const char* name;
    void (*spoil)(CounterProbe*, CpuModel*);
    const char* says;
  } cases[] = {
      {"undercount", [](CounterProbe* p, CpuModel*) { p->counts[2] = 99990; }, "missed branches"},
      {"undercount in a VM",
       [](CounterProbe* p, CpuModel* c) {
         p->counts = {0, 0, 0, 0, 0};
         c->hypervisor = true;
       },
       "virtual PMU"},
      {"drift", [](CounterProbe* p, CpuModel*) { p->counts[3] = 100004; }, "not deterministic"},
      {"drift in a VM",
       [](CounterProbe* p, CpuModel* c) {
         p->counts[4] = 100009;
         c->hypervisor = true;
       },
       "host drifts or multiplexes"},
      {"overcount",
       [](CounterProbe* p, CpuModel*) {
         p->counts = {100500, 100500, 100500, 100500, 100500};
         p->count_with_interrupt = 100500;
       },
       "overcounts"},
      {"no interrupt", [](CounterProbe* p, CpuModel*) { p->interrupt_arrived = false; },
       "never came"},
      {"interrupt changes the count", [](CounterProbe* p, CpuModel*) { p->count_with_interrupt += 7; },
       "Xen"},
      {"nothing measured", [](CounterProbe* p, CpuModel*) { p->counts.clear(); }, "counted nothing"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CounterProbe probe = good_probe();
    CpuModel cpu = intel();
    c.spoil(&probe, &cpu);
    HwTickVerdict v = judge_hw_ticks(cpu, ZenWorkaround::kNotZen, probe);
    EXPECT_FALSE(v.usable);
    EXPECT_NE(v.refusal.find(c.says), std::string::npos) << v.refusal;
    EXPECT_EQ(v.refusal.find('\n'), std::string::npos);
  }
}

TEST(HwTickJudge, ZenSpecLockMap) {
  EXPECT_TRUE(is_amd_zen(zen3()));
  CpuModel zen1 = zen3();
  zen1.family = 0x17;
  EXPECT_TRUE(is_amd_zen(zen1));
  CpuModel zen5 = zen3();
  zen5.family = 0x1a;
  EXPECT_TRUE(is_amd_zen(zen5));
  CpuModel bulldozer = zen3();
  bulldozer.family = 0x15;
  EXPECT_FALSE(is_amd_zen(bulldozer));
  EXPECT_FALSE(is_amd_zen(intel()));
  EXPECT_EQ(zen_speclockmap_state(intel()), ZenWorkaround::kNotZen);

  HwTickVerdict missing = judge_hw_ticks(zen3(), ZenWorkaround::kMissing, good_probe());
  EXPECT_FALSE(missing.usable);
  EXPECT_NE(missing.refusal.find("0xc0011020 bit 54"), std::string::npos) << missing.refusal;
  EXPECT_NE(missing.refusal.find("--ticks=soft"), std::string::npos) << missing.refusal;

  HwTickVerdict unknown = judge_hw_ticks(zen3(), ZenWorkaround::kUnknown, good_probe());
  EXPECT_TRUE(unknown.usable);
  ASSERT_EQ(unknown.warnings.size(), 1u);
  EXPECT_NE(unknown.warnings[0].find("SpecLockMap"), std::string::npos);

  EXPECT_TRUE(judge_hw_ticks(zen3(), ZenWorkaround::kApplied, good_probe()).warnings.empty());
}

TEST(HwTickJudge, QuirksThatOnlyWarnSayWhatToDo) {
  CpuModel cpu = intel();
  cpu.rtm = true;
  cpu.hybrid = true;
  cpu.hypervisor = true;
  HwTickVerdict v = judge_hw_ticks(cpu, ZenWorkaround::kNotZen, good_probe());
  EXPECT_TRUE(v.usable);
  ASSERT_EQ(v.warnings.size(), 3u);
  EXPECT_NE(v.warnings[0].find("tsx=off"), std::string::npos) << v.warnings[0];
  EXPECT_NE(v.warnings[1].find("-u"), std::string::npos) << v.warnings[1];
  EXPECT_NE(v.warnings[2].find("--ticks=soft"), std::string::npos) << v.warnings[2];
}

// ------------------------------------------------ the session's choice

TEST(HwTickChoice, SourcesAndTheirCounters) {
  std::string microarch, why;
  TickCounters counters;
  ASSERT_TRUE(use_record_tick_counters("hw-sim", &counters, &microarch, &why)) << why;
  EXPECT_EQ(counters.kind, TickCounterKind::kSim);
  EXPECT_EQ(microarch, "simulated");
  ASSERT_TRUE(use_record_tick_counters("soft", &counters, &microarch, &why)) << why;
  EXPECT_EQ(counters.kind, TickCounterKind::kNone);
  EXPECT_TRUE(microarch.empty());
  ASSERT_TRUE(use_replay_tick_counters("hw-sim", "simulated", &counters, &why)) << why;
  EXPECT_EQ(counters.kind, TickCounterKind::kSim);
  ASSERT_TRUE(use_replay_tick_counters("none", "", &counters, &why)) << why;
  EXPECT_EQ(counters.kind, TickCounterKind::kNone);
  EXPECT_TRUE(is_hw_tick_source("hw"));
  EXPECT_TRUE(is_hw_tick_source("hw-sim"));
  EXPECT_FALSE(is_hw_tick_source("soft"));
}

// A hw trace from a microarchitecture this machine is not: refused in one
// line that says why (no counter here, or another microarchitecture).
TEST(HwTickChoice, HwTraceNeedsTheSameMicroarchitecture) {
  std::string why;
  TickCounters counters;
  counters.kind = TickCounterKind::kSim;
  EXPECT_FALSE(use_replay_tick_counters("hw", "no_such_uarch", &counters, &why));
  EXPECT_EQ(counters.kind, TickCounterKind::kNone);
  EXPECT_NE(why.find("hardware ticks"), std::string::npos) << why;
  EXPECT_NE(why.find("no_such_uarch"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
  std::cout << "refusal: " << why << "\n";
}

// The same through a replay: a finished trace whose header says it was
// counted with hardware ticks on another microarchitecture is refused
// before anything runs, in one line naming the trace.
TEST(HwTickChoice, ReplayOfAHwTraceFromElsewhereIsRefused) {
  char dir_template[] = "/tmp/rrx-hw-trace-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir_template));
  std::string dir = std::string(dir_template) + "/trace";
  std::string error;
  auto writer = TraceWriter::create(dir, &error);
  ASSERT_TRUE(writer) << error;
  TraceHeader header;
  header.argv = {"/bin/true"};
  header.exe_saved_name = "true-0";
  header.ticks = "hw";
  header.tick_microarch = "no_such_uarch";
  ASSERT_TRUE(writer->write_header(header, &error)) << error;
  ASSERT_TRUE(writer->finish(TraceSummary{}, &error)) << error;
  writer.reset();
  EXPECT_FALSE(ReplaySession::start(dir, &error));
  EXPECT_NE(error.find(dir + " was recorded with hardware ticks"), std::string::npos) << error;
  EXPECT_NE(error.find("no_such_uarch"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  std::string rm = std::string("rm -rf ") + dir_template;
  EXPECT_EQ(system(rm.c_str()), 0);
}

// ----------------- the perf_event device on a traced child (stand-in event)

// User-space page faults: a software event every kernel offers, counted and
// signalled like the branch counter (see test_hw_branch_counter.cc). Its
// skid bound is set to a few events: the interrupt may come that late.
// page_fault_event.h's, with a skid for the approach logic to respect.
HwBranchEvent skidding_page_fault_event() {
  HwBranchEvent event = page_fault_event();
  event.skid = 4;
  return event;
}

// Resumes the traced child until its next stop; its stop signal.
int continue_to_stop(Task& task) {
  if (!task.cont()) return -1;
  int status;
  if (waitpid(task.tid(), &status, 0) != task.tid() || !WIFSTOPPED(status)) return -2;
  return WSTOPSIG(status);
}

TEST(PerfCounterDevice, ReplayApproachAndSliceOnATracedChild) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(12);
    alarm(20);
    raise(SIGSTOP);
    for (;;) touch_fresh_pages(16);
  }
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  Task task(child);
  std::string why;
  std::unique_ptr<CounterDevice> device = open_perf_counter(skidding_page_fault_event(), task, &why);
  ASSERT_TRUE(device) << why;
  HwThreadTicks ticks(std::move(device), 0);
  EXPECT_EQ(ticks.interrupt_signal(), kHwTickSignal);
  EXPECT_EQ(ticks.ticks(), 0u);
  for (uint64_t distance : {100u, 37u, 250u}) {
    SCOPED_TRACE(distance);
    uint64_t target = ticks.ticks() + distance;
    ASSERT_TRUE(ticks.arm_by(target));
    ASSERT_EQ(continue_to_stop(task), kHwTickSignal);
    EXPECT_TRUE(ticks.take_interrupt(kHwTickSignal));
    EXPECT_LE(ticks.ticks(), target);
    EXPECT_GE(ticks.ticks(), target - 4);
  }
  // A slice: at least that many more; the program's own SIGSTKFLT is not ours.
  uint64_t before = ticks.ticks();
  ASSERT_TRUE(ticks.arm_after(60));
  ASSERT_EQ(continue_to_stop(task), kHwTickSignal);
  EXPECT_TRUE(ticks.take_interrupt(kHwTickSignal));
  EXPECT_GE(ticks.ticks(), before + 60);
  // One-shot: the kernel's reloaded period sends no second interrupt; our
  // SIGALRM is the next stop, many faults later.
  before = ticks.ticks();
  ASSERT_TRUE(task.cont());
  usleep(50 * 1000);
  kill(child, SIGALRM);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(WSTOPSIG(status), SIGALRM);
  EXPECT_GT(ticks.ticks(), before + 120);
  syscall(SYS_tgkill, child, child, kHwTickSignal);
  ASSERT_EQ(continue_to_stop(task), kHwTickSignal);
  EXPECT_FALSE(ticks.take_interrupt(kHwTickSignal)) << "a tgkill'd SIGSTKFLT";
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

// --------------------------------------------------------- live PMU

TEST(HwTicksLive, SelfCheck) {
  HwTickCheck check = check_hw_ticks();
  if (!check.verdict.usable) {
    EXPECT_FALSE(check.verdict.refusal.empty());
    EXPECT_EQ(check.verdict.refusal.find('\n'), std::string::npos);
    GTEST_SKIP() << "hardware ticks refused here: " << check.verdict.refusal;
  }
  std::cout << "hardware ticks on " << check.microarch << " (" << check.event.spec << ")\n";
  for (const std::string& w : check.verdict.warnings) std::cout << "warning: " << w << "\n";
  EXPECT_FALSE(check.microarch.empty());
  EXPECT_GT(check.event.skid, 0u);
}

TEST(HwTicksLive, ReplayApproachOnTheRealCounter) {
  HwTickCheck check = check_hw_ticks();
  if (!check.verdict.usable) {
    GTEST_SKIP() << "hardware ticks refused here: " << check.verdict.refusal;
  }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(12);
    alarm(20);
    raise(SIGSTOP);
    for (;;) run_conditional_branches(1000);
  }
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  Task task(child);
  std::string why;
  std::unique_ptr<CounterDevice> device = open_perf_counter(check.event, task, &why);
  ASSERT_TRUE(device) << why;
  HwThreadTicks ticks(std::move(device), 0);
  for (uint64_t distance : {1000000u, 30000u, 500000u}) {
    SCOPED_TRACE(distance);
    uint64_t target = ticks.ticks() + distance;
    ASSERT_TRUE(ticks.arm_by(target));
    ASSERT_EQ(continue_to_stop(task), kHwTickSignal);
    EXPECT_TRUE(ticks.take_interrupt(kHwTickSignal));
    std::cout << "stopped " << target - ticks.ticks() << " short of the target (margin "
              << check.event.skid << ")\n";
    EXPECT_LE(ticks.ticks(), target);
    EXPECT_GE(ticks.ticks() + check.event.skid, target);
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

}  // namespace
}  // namespace rrx
