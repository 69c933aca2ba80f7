// Whether hardware ticks can be trusted on this machine: the start-up
// self-check, the known CPU quirks, and the choice of counter for a record
// or replay session. docs/hardware-ticks.md describes each quirk and what
// to do about it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/hw_branch_counter.h"

namespace rrx {

struct CpuModel {
  std::string vendor;  // cpuid's: "GenuineIntel", "AuthenticAMD", ...
  uint32_t family = 0, model = 0;  // display family and model
  bool hypervisor = false;  // running in a VM (cpuid 1 ECX bit 31)
  bool rtm = false;         // Intel TSX transactions (cpuid 7 EBX bit 11)
  bool hybrid = false;      // performance and efficiency cores (cpuid 7 EDX bit 15)
};
CpuModel this_cpu();

// AMD Zen's SpecLockMap: speculatively executed locked instructions make
// the branch counter overcount unless the "SpecLockMap" optimisation is
// turned off (MSR 0xc0011020 bit 54 set).
enum class ZenWorkaround { kNotZen, kApplied, kMissing, kUnknown };
bool is_amd_zen(const CpuModel& cpu);
ZenWorkaround zen_speclockmap_state(const CpuModel& cpu);

// What the self-check measured, with the counter this session would use.
struct CounterProbe {
  uint64_t branches = 0;                // the probe loop's branch count
  std::vector<uint64_t> counts;         // the counter's count of it, run after run
  bool interrupt_arrived = false;       // an overflow inside the loop signalled us
  uint64_t count_with_interrupt = 0;    // the loop's count in that run
};

struct HwTickVerdict {
  bool usable = false;
  std::string refusal;                // one line, when not usable
  std::vector<std::string> warnings;  // quirks that may bite; each says what to do
};

// The rules, apart from the measuring (unit-tested with made-up probes).
HwTickVerdict judge_hw_ticks(const CpuModel& cpu, ZenWorkaround zen, const CounterProbe& probe);

struct HwTickCheck {
  HwTickVerdict verdict;
  HwBranchEvent event;     // the encoded counter (valid when usable)
  std::string microarch;   // libpfm4's PMU name, e.g. "skl", "amd64_fam19h_zen3"
};
// Encodes the counter, opens it on this thread, measures a known loop a
// few times and with an overflow inside it, and judges.
HwTickCheck check_hw_ticks();

struct TickCounters;

// A recording session's counters for tick source `ticks` ("hw", "hw-sim"
// or a soft one) into *counters; *microarch gets what the header records.
// The quirks' warnings go to stderr. False with *why if hw ticks cannot be
// used.
bool use_record_tick_counters(const std::string& ticks, TickCounters* counters,
                              std::string* microarch, std::string* why);
// The same for replaying a trace recorded with `ticks` on `microarch`: a
// hw trace needs working hardware ticks on the same microarchitecture.
bool use_replay_tick_counters(const std::string& ticks, const std::string& microarch,
                              TickCounters* counters, std::string* why);

}  // namespace rrx
