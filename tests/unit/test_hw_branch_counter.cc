// Tests for the hardware tick source (core/hw_branch_counter.h):
// - the event libpfm4 encodes for known PMU models equals the raw codes of
//   the vendors' manuals (forcing the model with LIBPFM_FORCE_PMU);
// - the counter's mechanics (open on another thread, start/reset, read, the
//   overflow signal reaching the counted thread as a ptrace stop that
//   is_interrupt recognises, re-arming) with a software event standing in
//   for the hardware one, so they run on machines without a PMU;
// - live hardware counts, which skip (saying why) where there is no PMU.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "page_fault_event.h"

#include "core/hw_branch_counter.h"
#include "core/pmu.h"

namespace rrx {
namespace {

// ------------------------------------------------------------- encoding

struct Probe {
  std::string pmu, spec;
  uint32_t type = 0;
  uint64_t config = 0, skid = 0;
};

// Encodes the event as rrx would on a CPU with PMU model `pmu`: runs
// hw_event_probe with LIBPFM_FORCE_PMU=pmu (libpfm4 reads it once per
// process, so each model needs a fresh process). False with *why if not.
bool encode_forced(const char* pmu, Probe* probe, std::string* why) {
  std::string command = std::string("LIBPFM_FORCE_PMU=") + pmu + " '" HW_EVENT_PROBE "'";
  FILE* out = popen(command.c_str(), "r");
  if (!out) {
    *why = "popen failed";
    return false;
  }
  char line[512] = "";
  if (!fgets(line, sizeof line, out)) line[0] = 0;
  pclose(out);
  char name[128], spec[256];
  unsigned long long config, skid;
  if (sscanf(line, "ok %127s %255s %u %llx %llu", name, spec, &probe->type, &config, &skid) !=
      5) {
    *why = line;
    return false;
  }
  probe->pmu = name;
  probe->spec = spec;
  probe->config = config;
  probe->skid = skid;
  return true;
}

struct Model {
  const char* pmu;       // libpfm4's PMU name
  uint64_t config;       // event select | umask << 8, from the vendor's manual
  uint64_t skid;
};

// Intel SDM vol. 3B, "Performance monitoring events": BR_INST_RETIRED.
// CONDITIONAL is event C4H umask 01H from Nehalem to Skylake/Cascade Lake;
// Ice Lake and later name it BR_INST_RETIRED.COND, event C4H umask 11H.
// AMD PPR for family 17h and 19h: "Retired Conditional Branch
// Instructions", PMCx0D1, no unit mask.
const Model kModels[] = {
    {"nhm", 0x01C4, kIntelBranchSkid},
    {"wsm", 0x01C4, kIntelBranchSkid},
    {"snb", 0x01C4, kIntelBranchSkid},
    {"ivb", 0x01C4, kIntelBranchSkid},
    {"hsw", 0x01C4, kIntelBranchSkid},
    {"bdw", 0x01C4, kIntelBranchSkid},
    {"skl", 0x01C4, kIntelBranchSkid},
    {"skx", 0x01C4, kIntelBranchSkid},
    {"clx", 0x01C4, kIntelBranchSkid},
    {"icl", 0x11C4, kIntelBranchSkid},
    {"icx", 0x11C4, kIntelBranchSkid},
    {"spr", 0x11C4, kIntelBranchSkid},
    {"amd64_fam17h_zen1", 0xD1, kAmdBranchSkid},
    {"amd64_fam17h_zen2", 0xD1, kAmdBranchSkid},
    {"amd64_fam19h_zen3", 0xD1, kAmdBranchSkid},
    {"amd64_fam19h_zen4", 0xD1, kAmdBranchSkid},
};

TEST(HwBranchEncoding, KnownModelsMatchTheManuals) {
  for (const Model& m : kModels) {
    SCOPED_TRACE(m.pmu);
    Probe event;
    std::string why;
    ASSERT_TRUE(encode_forced(m.pmu, &event, &why)) << why;
    EXPECT_EQ(event.pmu, m.pmu);
    EXPECT_EQ(event.spec.rfind(std::string(m.pmu) + "::", 0), 0u) << event.spec;
    EXPECT_EQ(event.type, static_cast<uint32_t>(PERF_TYPE_RAW));
    EXPECT_EQ(event.config, m.config) << std::hex << event.config;
    EXPECT_EQ(event.skid, m.skid);
  }
}

TEST(HwBranchEncoding, UnknownForcedModelIsRefused) {
  Probe event;
  std::string why;
  EXPECT_FALSE(encode_forced("no_such_model", &event, &why));
  EXPECT_EQ(why.rfind("error ", 0), 0u) << why;
}

TEST(HwBranchEncoding, AttrCountsUserSpaceOnlyPinnedAndDisabled) {
  HwBranchEvent event;
  std::string why;
  if (!encode_conditional_branch_event("", &event, &why)) {
    GTEST_SKIP() << "libpfm4 knows no core PMU for this CPU: " << why;
  }
  const perf_event_attr& a = event.attr;
  EXPECT_EQ(a.size, sizeof(perf_event_attr));
  EXPECT_EQ(a.exclude_kernel, 1u);
  EXPECT_EQ(a.exclude_hv, 1u);
  EXPECT_EQ(a.exclude_guest, 1u);
  EXPECT_EQ(a.exclude_user, 0u);
  EXPECT_EQ(a.pinned, 1u);
  EXPECT_EQ(a.disabled, 1u);
  EXPECT_EQ(a.freq, 0u);
  // A sampling event (so start() can set the period) whose idle period is
  // too long to ever fire.
  EXPECT_GE(a.sample_period, 1ULL << 48);
  EXPECT_EQ(a.sample_type, 0u);
}

TEST(HwBranchEncoding, ExplicitPmuNameEqualsDetected) {
  HwBranchEvent detected, named;
  std::string why;
  if (!encode_conditional_branch_event("", &detected, &why)) {
    GTEST_SKIP() << "libpfm4 knows no core PMU for this CPU: " << why;
  }
  ASSERT_TRUE(encode_conditional_branch_event(detected.pmu, &named, &why)) << why;
  EXPECT_EQ(named.spec, detected.spec);
  EXPECT_EQ(named.attr.config, detected.attr.config);
  std::cout << "this CPU: " << detected.spec << " config 0x" << std::hex
            << detected.attr.config << std::dec << " skid " << detected.skid << "\n";
}

TEST(HwBranchEncoding, UnknownPmuIsRefusedInOneLine) {
  HwBranchEvent event;
  std::string why;
  EXPECT_FALSE(encode_conditional_branch_event("no_such_pmu", &event, &why));
  EXPECT_NE(why.find("no_such_pmu"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

TEST(HwBranchCounter, ReplayStopsSkidShortOfTheTarget) {
  EXPECT_EQ(replay_interrupt_period(100000, 100), 99900u);
  EXPECT_EQ(replay_interrupt_period(101, 100), 1u);
  EXPECT_EQ(replay_interrupt_period(100, 100), 0u);
  EXPECT_EQ(replay_interrupt_period(5, 10000), 0u);
  EXPECT_EQ(replay_interrupt_period(0, 100), 0u);
}

TEST(HwBranchCounter, ClosedCounterRecognisesNoSignal) {
  HwBranchCounter counter;
  siginfo_t info{};
  info.si_signo = kHwTickSignal;
  info.si_code = POLL_IN;
  info.si_fd = -1;
  EXPECT_FALSE(counter.is_open());
  EXPECT_FALSE(counter.is_interrupt(info));
}

// ------------------------------------------- mechanics with a stand-in event

// User-space page faults: a software event every kernel offers, counted on
// the faulting thread with exclude_kernel like ours, and exact (no skid).
// page_fault_event.h's, named as the counter reports it.
HwBranchEvent named_page_fault_event() {
  HwBranchEvent event = page_fault_event();
  event.pmu = "software";
  event.spec = "page-faults";
  return event;
}

TEST(HwBranchCounter, CountsAnotherThreadFromStart) {
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(11);
    touch_fresh_pages(64);
    _exit(0);
  }
  HwBranchCounter counter;
  std::string why;
  ASSERT_TRUE(counter.open(named_page_fault_event(), child, &why)) << why;
  uint64_t count = 1;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  EXPECT_EQ(count, 0u) << "opened disabled";
  ASSERT_TRUE(counter.start(0, &why)) << why;
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  EXPECT_GE(count, 64u);
  EXPECT_LT(count, 64u + 32u);  // a few for libc's exit path at most
  // start() zeroes the count.
  ASSERT_TRUE(counter.start(0, &why)) << why;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  EXPECT_EQ(count, 0u);
  close(go[0]);
  close(go[1]);
}

// A traced child that stops itself, then faults pages until killed (or
// until an alarm ends a test that went wrong).
pid_t spawn_traced_faulter() {
  pid_t child = fork();
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(12);
    alarm(20);
    raise(SIGSTOP);
    for (;;) touch_fresh_pages(16);
  }
  return child;
}

// Resumes the traced child until its next stop; returns the stop signal.
int continue_to_stop(pid_t child) {
  if (ptrace(PTRACE_CONT, child, nullptr, nullptr) != 0) return -1;
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) return -2;
  return WSTOPSIG(status);
}

TEST(HwBranchCounter, OverflowStopsTheCountedThreadWithOurSignal) {
  pid_t child = spawn_traced_faulter();
  ASSERT_GT(child, 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);

  HwBranchCounter counter;
  std::string why;
  ASSERT_TRUE(counter.open(named_page_fault_event(), child, &why)) << why;
  for (uint64_t period : {100u, 250u, 40u}) {  // re-arming restarts the countdown
    SCOPED_TRACE(period);
    ASSERT_TRUE(counter.start(period, &why)) << why;
    ASSERT_EQ(continue_to_stop(child), kHwTickSignal);
    siginfo_t info;
    ASSERT_EQ(ptrace(PTRACE_GETSIGINFO, child, nullptr, &info), 0);
    EXPECT_TRUE(counter.is_interrupt(info))
        << "si_code " << info.si_code << " si_fd " << info.si_fd << " fd " << counter.fd();
    uint64_t count = 0;
    ASSERT_TRUE(counter.read(&count, &why)) << why;
    EXPECT_GE(count, period);
    EXPECT_LE(count, period + 2);  // software events have no skid
    // A program's own SIGSTKFLT is not ours.
    siginfo_t user = info;
    user.si_code = SI_TKILL;
    EXPECT_FALSE(counter.is_interrupt(user));
    user = info;
    user.si_fd = counter.fd() + 1;
    EXPECT_FALSE(counter.is_interrupt(user));
  }
  // Without a period it runs on: our SIGALRM is the next stop, after many
  // faults and no interrupt.
  ASSERT_TRUE(counter.start(0, &why)) << why;
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  usleep(100 * 1000);
  kill(child, SIGALRM);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGALRM) << status;
  uint64_t count = 0;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  EXPECT_GT(count, 1000u);
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

// ------------------------------------------------------- live hardware

// Skips the calling test, saying why, when this machine has no PMU.
#define REQUIRE_PMU()                                                         \
  do {                                                                        \
    std::string why_no_pmu;                                                   \
    if (!hardware_branch_counter_available(&why_no_pmu)) {                    \
      GTEST_SKIP() << "no hardware branch counter here: " << why_no_pmu;      \
    }                                                                         \
  } while (0)

TEST(HwBranchLive, DetectionGivesOneLineReason) {
  std::string why;
  bool available = hardware_branch_counter_available(&why);
  std::cout << "hardware_branch_counter_available: " << (available ? "yes" : "no: " + why)
            << "\n";
  if (!available) {
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
  }
}

TEST(HwBranchLive, CountsAKnownLoopInAChild) {
  REQUIRE_PMU();
  constexpr uint64_t kBranches = 1000000;
  HwBranchEvent event;
  std::string why;
  ASSERT_TRUE(encode_conditional_branch_event("", &event, &why)) << why;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(11);
    run_conditional_branches(kBranches);
    _exit(0);
  }
  HwBranchCounter counter;
  ASSERT_TRUE(counter.open(event, child, &why)) << why;
  ASSERT_TRUE(counter.start(0, &why)) << why;
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  uint64_t count = 0;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  EXPECT_GE(count, kBranches);
  EXPECT_LT(count, kBranches + 10000) << "libc's read return and exit path only";
  close(go[0]);
  close(go[1]);
}

TEST(HwBranchLive, InterruptArrivesWithinSkid) {
  REQUIRE_PMU();
  constexpr uint64_t kPeriod = 100000;
  HwBranchEvent event;
  std::string why;
  ASSERT_TRUE(encode_conditional_branch_event("", &event, &why)) << why;
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
  HwBranchCounter counter;
  ASSERT_TRUE(counter.open(event, child, &why)) << why;
  ASSERT_TRUE(counter.start(kPeriod, &why)) << why;
  EXPECT_EQ(continue_to_stop(child), kHwTickSignal);
  siginfo_t info;
  ASSERT_EQ(ptrace(PTRACE_GETSIGINFO, child, nullptr, &info), 0);
  EXPECT_TRUE(counter.is_interrupt(info));
  uint64_t count = 0;
  ASSERT_TRUE(counter.read(&count, &why)) << why;
  std::cout << "interrupt after " << count << " for a period of " << kPeriod
            << " (skid " << count - kPeriod << ", allowed " << event.skid << ")\n";
  EXPECT_GE(count, kPeriod);
  EXPECT_LE(count, kPeriod + event.skid);
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
}

}  // namespace
}  // namespace rrx
