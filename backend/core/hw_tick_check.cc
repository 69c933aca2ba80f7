#include "core/hw_tick_check.h"

#include <cpuid.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/hw_tick_source.h"
#include "core/pmu.h"

namespace rrx {
namespace {

// The probe: a loop of known length, counted a few times. The count also
// takes in the few branches of the ioctl wrappers between enabling the
// counter and the loop, and the loop and disabling it (a constant).
constexpr uint64_t kProbeBranches = 100000;
constexpr int kProbeRuns = 5;
constexpr uint64_t kProbeSlack = 64;

constexpr uint32_t kZenSpecLockMapMsr = 0xc0011020;
constexpr int kZenSpecLockMapBit = 54;

std::string list(const std::vector<uint64_t>& counts) {
  std::string s;
  for (uint64_t c : counts) s += (s.empty() ? "" : ", ") + std::to_string(c);
  return s;
}

// Counts the probe loop kProbeRuns times, then once more with an overflow
// set to come in its middle (the signal blocked here and collected after).
bool probe_counter(const HwBranchEvent& event, CounterProbe* probe, std::string* why) {
  HwBranchCounter counter;
  if (!counter.open(event, gettid(), why)) return false;
  probe->branches = kProbeBranches;
  for (int run = 0; run < kProbeRuns; ++run) {
    uint64_t count = 0;
    if (!counter.start(0, why)) return false;
    run_conditional_branches(kProbeBranches);
    if (!counter.stop(why) || !counter.read(&count, why)) return false;
    probe->counts.push_back(count);
  }
  sigset_t ours, old;
  sigemptyset(&ours);
  sigaddset(&ours, kHwTickSignal);
  pthread_sigmask(SIG_BLOCK, &ours, &old);
  bool ok = counter.start(kProbeBranches / 2, why);
  if (ok) {
    run_conditional_branches(kProbeBranches);
    ok = counter.stop(why) && counter.read(&probe->count_with_interrupt, why);
  }
  siginfo_t info;
  struct timespec now = {0, 0};
  while (sigtimedwait(&ours, &info, &now) == kHwTickSignal) {
    if (counter.is_interrupt(info)) probe->interrupt_arrived = true;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

}  // namespace

CpuModel this_cpu() {
  CpuModel cpu;
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  char vendor[13] = {};
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  cpu.vendor = vendor;
  unsigned max_leaf = a;
  __cpuid(1, a, b, c, d);
  uint32_t base_family = (a >> 8) & 0xf;
  cpu.family = base_family == 0xf ? base_family + ((a >> 20) & 0xff) : base_family;
  cpu.model = ((a >> 4) & 0xf) | (base_family >= 6 ? ((a >> 16) & 0xf) << 4 : 0);
  cpu.hypervisor = (c >> 31) & 1;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    cpu.rtm = (b >> 11) & 1;
    cpu.hybrid = (d >> 15) & 1;
  }
  return cpu;
}

bool is_amd_zen(const CpuModel& cpu) {
  return cpu.vendor == "AuthenticAMD" &&
         (cpu.family == 0x17 || cpu.family == 0x19 || cpu.family == 0x1a);
}

ZenWorkaround zen_speclockmap_state(const CpuModel& cpu) {
  if (!is_amd_zen(cpu)) return ZenWorkaround::kNotZen;
  int here = sched_getcpu();
  std::string path = "/dev/cpu/" + std::to_string(here < 0 ? 0 : here) + "/msr";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ZenWorkaround::kUnknown;  // needs root and the msr module
  uint64_t value = 0;
  bool read_ok = pread(fd, &value, sizeof value, kZenSpecLockMapMsr) == sizeof value;
  close(fd);
  if (!read_ok) return ZenWorkaround::kUnknown;
  return (value >> kZenSpecLockMapBit) & 1 ? ZenWorkaround::kApplied : ZenWorkaround::kMissing;
}

HwTickVerdict judge_hw_ticks(const CpuModel& cpu, ZenWorkaround zen, const CounterProbe& probe) {
  HwTickVerdict v;
  auto refuse = [&](const std::string& why) {
    v.refusal = why;
    return v;
  };
  const std::string loop = std::to_string(probe.branches) + "-branch loop";
  if (probe.counts.empty()) return refuse("the self-check counted nothing");
  for (uint64_t c : probe.counts) {
    if (c < probe.branches) {
      return refuse("the counter missed branches: " + list(probe.counts) + " for a " + loop +
                    (cpu.hypervisor ? " (this VM's virtual PMU does not count every branch)" : ""));
    }
  }
  for (uint64_t c : probe.counts) {
    if (c != probe.counts.front()) {
      return refuse("counts are not deterministic here: " + list(probe.counts) +
                    " for the same " + loop +
                    (cpu.hypervisor ? " (a VM whose host drifts or multiplexes the counter)" : ""));
    }
  }
  if (probe.counts.front() > probe.branches + kProbeSlack) {
    return refuse("the counter overcounts: " + std::to_string(probe.counts.front()) + " for a " +
                  loop);
  }
  if (!probe.interrupt_arrived) {
    return refuse("the counter's overflow interrupt never came (a kernel before 4.7 ignores "
                  "PERF_EVENT_IOC_PERIOD; some hypervisors drop the interrupt)");
  }
  if (probe.count_with_interrupt != probe.counts.front()) {
    return refuse("the count changes when the overflow interrupt fires (" +
                  std::to_string(probe.count_with_interrupt) + " instead of " +
                  std::to_string(probe.counts.front()) +
                  "; Xen's interrupt handling is known to do this)");
  }
  if (zen == ZenWorkaround::kMissing) {
    return refuse("AMD Zen with SpecLockMap on (MSR 0xc0011020 bit 54 clear): locked "
                  "instructions make the counter overcount; as root set that bit on every "
                  "CPU (docs/hardware-ticks.md) or use --ticks=soft");
  }
  if (zen == ZenWorkaround::kUnknown) {
    v.warnings.push_back(
        "AMD Zen: cannot read MSR 0xc0011020 to check that SpecLockMap is off (needs root "
        "and the msr module); if replay reports tick counts that differ, turn it off "
        "(docs/hardware-ticks.md) or use --ticks=soft");
  }
  if (cpu.rtm) {
    v.warnings.push_back(
        "this CPU has TSX transactions, whose aborted branches are counted: rrx hides TSX "
        "from programs' cpuid, but a program that runs xbegin regardless replays wrongly; "
        "boot with tsx=off to be sure");
  }
  if (cpu.hybrid) {
    v.warnings.push_back(
        "hybrid CPU: performance and efficiency cores count with different PMUs; record "
        "and replay stay on the CPU rrx pins them to, so do not use -u with hardware ticks");
  }
  if (cpu.hypervisor) {
    v.warnings.push_back(
        "virtual machine: its counter passed the self-check, but hosts that multiplex or "
        "migrate it make counts drift later; replay then reports a tick count difference "
        "(use --ticks=soft there)");
  }
  v.usable = true;
  return v;
}

HwTickCheck check_hw_ticks() {
  HwTickCheck check;
  std::string why;
  if (!hardware_branch_counter_available(&why)) {
    check.verdict.refusal = "no usable hardware branch counter: " + why;
    return check;
  }
  if (!encode_conditional_branch_event("", &check.event, &why)) {
    check.verdict.refusal = why;
    return check;
  }
  check.microarch = check.event.pmu;
  CounterProbe probe;
  if (!probe_counter(check.event, &probe, &why)) {
    check.verdict.refusal = "the self-check could not run the counter: " + why;
    return check;
  }
  CpuModel cpu = this_cpu();
  check.verdict = judge_hw_ticks(cpu, zen_speclockmap_state(cpu), probe);
  return check;
}

namespace {

// Warnings are for the user who records; replay reports a drift itself.
bool use_perf_counters(TickCounters* counters, bool warn, std::string* microarch,
                       std::string* why) {
  *counters = TickCounters();
  HwTickCheck check = check_hw_ticks();
  if (!check.verdict.usable) {
    *why = check.verdict.refusal;
    return false;
  }
  for (const std::string& w : check.verdict.warnings) {
    if (warn) fprintf(stderr, "rrx: warning: hardware ticks: %s\n", w.c_str());
  }
  counters->kind = TickCounterKind::kPerf;
  counters->event = check.event;
  *microarch = check.microarch;
  return true;
}

}  // namespace

bool use_record_tick_counters(const std::string& ticks, TickCounters* counters,
                              std::string* microarch, std::string* why) {
  if (ticks == "hw") return use_perf_counters(counters, true, microarch, why);
  *counters = TickCounters();
  microarch->clear();
  if (ticks == "hw-sim") {
    counters->kind = TickCounterKind::kSim;
    *microarch = "simulated";
  }
  return true;
}

bool use_replay_tick_counters(const std::string& ticks, const std::string& microarch,
                              TickCounters* counters, std::string* why) {
  if (ticks != "hw") {
    std::string ignored;
    return use_record_tick_counters(ticks, counters, &ignored, why);
  }
  std::string here;
  if (!use_perf_counters(counters, false, &here, why)) {
    *why = "was recorded with hardware ticks (on " + microarch +
           "), which replay only with hardware ticks, and here there are none: " + *why;
    return false;
  }
  if (here != microarch) {
    *counters = TickCounters();
    *why = "was recorded with hardware ticks on " + microarch + " and this CPU is " + here +
           ": a hardware-tick trace replays only on the same microarchitecture";
    return false;
  }
  return true;
}

}  // namespace rrx
