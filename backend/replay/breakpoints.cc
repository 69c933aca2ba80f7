#include "replay/breakpoints.h"

#include <sys/utsname.h>

#include <cstdio>

namespace rrx {

namespace {

constexpr uint8_t kInt3 = 0xcc;

}  // namespace

bool Breakpoints::insert(Task& task, uint64_t addr) {
  auto it = sites_.find(addr);
  if (it != sites_.end()) {
    ++it->second.refs;
    return true;
  }
  Site site{0, 1, false};
  site.installed = task.read_mem(addr, &site.original, 1) && task.write_mem(addr, &kInt3, 1);
  sites_.emplace(addr, site);
  return true;
}

void Breakpoints::remove(Task& task, uint64_t addr) {
  auto it = sites_.find(addr);
  if (it == sites_.end()) return;
  if (--it->second.refs > 0) return;
  if (it->second.installed) task.write_mem(addr, &it->second.original, 1);
  sites_.erase(it);
}

void Breakpoints::uninstall(Task& task) const {
  for (const auto& [addr, site] : sites_) {
    if (site.installed) task.write_mem(addr, &site.original, 1);
  }
}

void Breakpoints::refresh(Task& task, uint64_t lo, uint64_t hi) {
  for (auto it = sites_.lower_bound(lo); it != sites_.end() && it->first < hi; ++it) {
    Site& site = it->second;
    site.installed = task.read_mem(it->first, &site.original, 1) &&
                     task.write_mem(it->first, &kInt3, 1);
  }
}

void Breakpoints::uninstall_one(Task& task, uint64_t addr) const {
  auto it = sites_.find(addr);
  if (it != sites_.end() && it->second.installed) task.write_mem(addr, &it->second.original, 1);
}

void Breakpoints::install_one(Task& task, uint64_t addr) const {
  auto it = sites_.find(addr);
  if (it != sites_.end() && it->second.installed) task.write_mem(addr, &kInt3, 1);
}

void Breakpoints::shadow(uint64_t addr, uint8_t* data, size_t len) const {
  for (auto it = sites_.lower_bound(addr); it != sites_.end() && it->first < addr + len; ++it) {
    if (it->second.installed) data[it->first - addr] = it->second.original;
  }
}

bool program_watchpoints(Task& task, const std::vector<Watchpoint>& watchpoints) {
  if (watchpoints.size() > 4) return false;
  uint64_t dr7 = 0;
  for (size_t i = 0; i < watchpoints.size(); ++i) {
    const Watchpoint& w = watchpoints[i];
    uint64_t len_bits;
    switch (w.len) {
      case 1: len_bits = 0; break;
      case 2: len_bits = 1; break;
      case 4: len_bits = 3; break;
      case 8: len_bits = 2; break;
      default: return false;
    }
    if (w.addr % w.len != 0) return false;
    // R/W bits: 01 write, 11 read or write (x86 has no read-only watch).
    uint64_t rw_bits = w.kind == WatchKind::kWrite ? 1 : 3;
    dr7 |= uint64_t{1} << (2 * i);  // local enable
    dr7 |= (rw_bits | (len_bits << 2)) << (16 + 4 * i);
    if (!task.set_debug_reg(static_cast<int>(i), w.addr)) return false;
  }
  return task.set_debug_reg(7, dr7);
}

bool watchpoint_fired(Task& task) { return (task.debug_reg(6) & 0xf) != 0; }

namespace {

// Since Linux 5.11 the DR6 that ptrace shows is started afresh at each
// debug exception of the thread (only the traps of that exception are in
// it), so it need not be cleared after reading: one ptrace call less per
// watchpoint trap. Older kernels accumulate the bits until cleared.
bool kernel_starts_dr6_afresh() {
  static const bool afresh = [] {
    struct utsname u;
    int major = 0, minor = 0;
    return uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
           (major > 5 || (major == 5 && minor >= 11));
  }();
  return afresh;
}

}  // namespace

int triggered_watchpoint(Task& task, const siginfo_t& info, size_t armed) {
  if (info.si_code == TRAP_HWBKPT && armed == 1 && kernel_starts_dr6_afresh()) return 0;
  return triggered_watchpoint(task);
}

int triggered_watchpoint(Task& task) {
  uint64_t dr6 = task.debug_reg(6);
  if (!kernel_starts_dr6_afresh()) task.set_debug_reg(6, 0);
  for (int i = 0; i < 4; ++i) {
    if (dr6 & (uint64_t{1} << i)) return i;
  }
  return -1;
}

}  // namespace rrx
