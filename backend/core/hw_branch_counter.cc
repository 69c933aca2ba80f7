#include "core/hw_branch_counter.h"

// linux/perf_event.h first: libpfm4's own copy of the perf ABI then steps
// aside instead of defining perf_event_attr a second time.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace rrx {
namespace {

// libpfm4 keeps global tables and its initialisation is not thread-safe.
std::mutex pfm_mutex;

// "A period that never ends": the kernel clamps it to the counter's width
// and reloads silently, so no interrupt is ever sent. PERF_EVENT_IOC_PERIOD
// refuses 0 on a sampling event, hence a huge value instead.
constexpr uint64_t kNoInterruptPeriod = 1ULL << 62;

// libpfm4's names for retired conditional branches, by vendor. Intel
// tables call the umask COND (Ivy Bridge, Ice Lake and later) or
// CONDITIONAL (Nehalem..Sandy Bridge); Skylake-era tables accept both.
// AMD Zen 1-4: event 0xD1. A PMU accepts at most one of these.
const char* const kEventNames[] = {
    "BR_INST_RETIRED:COND",
    "BR_INST_RETIRED:CONDITIONAL",
    "RETIRED_CONDITIONAL_BRANCH_INSTRUCTIONS",
};

// The first present core PMU, preferring the one libpfm4 calls default.
bool default_core_pmu(std::string* name) {
  std::string first;
  pfm_pmu_info_t info;
  for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &info) != PFM_SUCCESS) continue;
    if (!info.is_present || info.type != PFM_PMU_TYPE_CORE) continue;
    if (info.is_dfl) {
      *name = info.name;
      return true;
    }
    if (first.empty()) first = info.name;
  }
  *name = first;
  return !first.empty();
}

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

}  // namespace

bool encode_conditional_branch_event(const std::string& pmu, HwBranchEvent* event,
                                     std::string* why) {
  std::lock_guard<std::mutex> lock(pfm_mutex);
  int ret = pfm_initialize();
  if (ret != PFM_SUCCESS) {
    *why = std::string("libpfm4 initialisation failed: ") + pfm_strerror(ret);
    return false;
  }
  std::string core = pmu;
  if (core.empty() && !default_core_pmu(&core)) {
    *why = "libpfm4 recognises no core PMU on this CPU";
    return false;
  }
  for (const char* name : kEventNames) {
    std::string spec = core + "::" + name;
    // Only type and config are taken from libpfm4; everything else is set
    // below, so its perf_event_attr size never has to match ours.
    perf_event_attr encoded;
    memset(&encoded, 0, sizeof encoded);
    pfm_perf_encode_arg_t arg;
    memset(&arg, 0, sizeof arg);
    arg.attr = &encoded;
    arg.size = sizeof arg;
    if (pfm_get_os_event_encoding(spec.c_str(), PFM_PLM3, PFM_OS_PERF_EVENT, &arg) !=
        PFM_SUCCESS) {
      continue;
    }
    perf_event_attr& attr = event->attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = encoded.type;
    attr.config = encoded.config;
    attr.config1 = encoded.config1;
    attr.sample_period = kNoInterruptPeriod;  // a sampling event, so its period can change
    attr.disabled = 1;
    attr.pinned = 1;  // never multiplexed: a tick lost to time-sharing breaks replay
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attr.exclude_guest = 1;
    event->pmu = core;
    event->spec = spec;
    event->skid = core.rfind("amd64_", 0) == 0 ? kAmdBranchSkid : kIntelBranchSkid;
    return true;
  }
  *why = "libpfm4's event table for PMU '" + core +
         "' has no retired-conditional-branch event";
  return false;
}

uint64_t replay_interrupt_period(uint64_t ticks_to_target, uint64_t skid) {
  return ticks_to_target > skid ? ticks_to_target - skid : 0;
}

void run_conditional_branches(uint64_t n) {
  if (n == 0) return;
  // One `jnz` per iteration: n-1 taken, the last not taken. Opaque to the
  // compiler, so it cannot be folded away.
  asm volatile("1: dec %0\n\t"
               "jnz 1b"
               : "+r"(n)
               :
               : "cc");
}

HwBranchCounter::~HwBranchCounter() { close(); }

HwBranchCounter::HwBranchCounter(HwBranchCounter&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

HwBranchCounter& HwBranchCounter::operator=(HwBranchCounter&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void HwBranchCounter::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HwBranchCounter::open(const HwBranchEvent& event, pid_t tid, std::string* why) {
  close();
  perf_event_attr attr = event.attr;
  long fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    *why = errno_text("perf_event_open");
    return false;
  }
  fd_ = static_cast<int>(fd);
  // Overflow signals go to the counted thread, not to us: it then stops in
  // a signal-delivery-stop right where it was interrupted.
  f_owner_ex owner;
  owner.type = F_OWNER_TID;
  owner.pid = tid;
  if (fcntl(fd_, F_SETOWN_EX, &owner) != 0) {
    *why = errno_text("fcntl(F_SETOWN_EX)");
  } else if (fcntl(fd_, F_SETSIG, kHwTickSignal) != 0) {
    *why = errno_text("fcntl(F_SETSIG)");
  } else if (fcntl(fd_, F_SETFL, O_ASYNC) != 0) {
    *why = errno_text("fcntl(F_SETFL, O_ASYNC)");
  } else {
    return true;
  }
  close();
  return false;
}

bool HwBranchCounter::start(uint64_t interrupt_after, std::string* why) {
  // PERF_EVENT_IOC_PERIOD also restarts the countdown to the next overflow
  // (kernel/events/core.c, __perf_event_period), so the interrupt is
  // counted from this reset, not from the previous period's.
  uint64_t period = interrupt_after ? interrupt_after : kNoInterruptPeriod;
  if (ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0) != 0) {
    *why = errno_text("PERF_EVENT_IOC_DISABLE");
  } else if (ioctl(fd_, PERF_EVENT_IOC_RESET, 0) != 0) {
    *why = errno_text("PERF_EVENT_IOC_RESET");
  } else if (ioctl(fd_, PERF_EVENT_IOC_PERIOD, &period) != 0) {
    *why = errno_text("PERF_EVENT_IOC_PERIOD");
  } else if (ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0) != 0) {
    *why = errno_text("PERF_EVENT_IOC_ENABLE");
  } else {
    return true;
  }
  return false;
}

bool HwBranchCounter::disarm(std::string* why) {
  uint64_t period = kNoInterruptPeriod;
  if (ioctl(fd_, PERF_EVENT_IOC_PERIOD, &period) == 0) return true;
  *why = errno_text("PERF_EVENT_IOC_PERIOD");
  return false;
}

bool HwBranchCounter::stop(std::string* why) {
  if (ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0) == 0) return true;
  *why = errno_text("PERF_EVENT_IOC_DISABLE");
  return false;
}

bool HwBranchCounter::read(uint64_t* count, std::string* why) const {
  ssize_t n = ::read(fd_, count, sizeof *count);
  if (n == sizeof *count) return true;
  // A pinned event that lost its counter to another user reads as EOF.
  *why = n == 0 ? "the counter was taken by another perf user (pinned event in error state)"
                : n < 0 ? errno_text("read of the counter")
                        : "short read of the counter";
  return false;
}

bool HwBranchCounter::is_interrupt(const siginfo_t& info) const {
  return fd_ >= 0 && info.si_signo == kHwTickSignal &&
         (info.si_code == POLL_IN || info.si_code == POLL_HUP) && info.si_fd == fd_;
}

}  // namespace rrx
