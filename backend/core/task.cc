#include "core/task.h"

#include "core/hw_tick_source.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <elf.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace rrx {

Task::Task(pid_t tid, TickCounters* tick_counters) : tick_counters(tick_counters), tid_(tid) {
  reopen_mem();
}

Task::~Task() {
  hw_ticks.reset();  // before the tid's memory file: a simulated counter uses it
  if (mem_fd_ >= 0) close(mem_fd_);
}

void Task::reopen_mem() {
  if (mem_fd_ >= 0) close(mem_fd_);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", tid_);
  mem_fd_ = open(path, O_RDWR | O_CLOEXEC);
}

bool Task::get_regs(Registers* regs) const {
  if (regs_valid_) {
    *regs = regs_;
    return true;
  }
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, regs) != 0) return false;
  if (cache_regs_) {
    regs_ = *regs;
    regs_valid_ = true;
  }
  return true;
}

bool Task::set_regs(const Registers& regs) {
  regs_valid_ = false;
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &regs) != 0) return false;
  if (cache_regs_) {
    regs_ = regs;
    regs_valid_ = true;
  }
  return true;
}

bool Task::get_siginfo(siginfo_t* info) const {
  return ptrace(PTRACE_GETSIGINFO, tid_, nullptr, info) == 0;
}

bool Task::set_siginfo(const siginfo_t& info) {
  return ptrace(PTRACE_SETSIGINFO, tid_, nullptr, &info) == 0;
}

bool Task::get_sigmask(uint64_t* mask) const {
  return ptrace(PTRACE_GETSIGMASK, tid_, sizeof *mask, mask) == 0;
}

bool Task::set_sigmask(uint64_t mask) {
  return ptrace(PTRACE_SETSIGMASK, tid_, sizeof mask, &mask) == 0;
}

unsigned long Task::event_msg() const {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, tid_, nullptr, &msg);
  return msg;
}

// /proc/<tid>/mem goes through the kernel's ptrace access path, so it can
// write read-only pages (breakpoints, vdso patches) like PTRACE_POKEDATA,
// but in one call for any length.
bool Task::read_mem(uint64_t addr, void* buf, size_t len) const {
  auto* out = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = pread(mem_fd_, out, len, static_cast<off_t>(addr));
    if (n <= 0) return false;
    out += n;
    addr += n;
    len -= n;
  }
  return true;
}

bool Task::write_mem(uint64_t addr, const void* buf, size_t len) {
  auto* in = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = pwrite(mem_fd_, in, len, static_cast<off_t>(addr));
    if (n <= 0) return false;
    in += n;
    addr += n;
    len -= n;
  }
  return true;
}

std::string Task::read_string(uint64_t addr, size_t max) const {
  std::string s;
  char chunk[256];
  while (s.size() < max) {
    // Read up to the end of the page so an unmapped next page is no error.
    size_t in_page = 4096 - (addr & 4095);
    size_t want = std::min(sizeof chunk, in_page);
    if (!read_mem(addr, chunk, want)) break;
    for (size_t i = 0; i < want; ++i) {
      if (chunk[i] == '\0') return s;
      s.push_back(chunk[i]);
    }
    addr += want;
  }
  return s;
}

bool Task::resume(int sig) {
  if (HwThreadTicks* hw = hw_thread_ticks(*this)) hw->before_resume();
  regs_valid_ = false;  // (after the hook, which may read them)
  return ptrace(PTRACE_SYSCALL, tid_, nullptr,
                reinterpret_cast<void*>(static_cast<long>(sig))) == 0;
}

bool Task::cont(int sig) {
  if (HwThreadTicks* hw = hw_thread_ticks(*this)) hw->before_resume();
  regs_valid_ = false;  // (after the hook, which may read them)
  return ptrace(PTRACE_CONT, tid_, nullptr,
                reinterpret_cast<void*>(static_cast<long>(sig))) == 0;
}

}  // namespace rrx

namespace rrx {

bool Task::single_step(int sig) {
  if (HwThreadTicks* hw = hw_thread_ticks(*this)) hw->before_resume();
  regs_valid_ = false;  // (after the hook, which may read them)
  return ptrace(PTRACE_SINGLESTEP, tid_, nullptr,
                reinterpret_cast<void*>(static_cast<long>(sig))) == 0;
}

bool Task::at_syscall_insn(uint64_t rip) const {
  unsigned char insn[2];
  return read_mem(rip, insn, 2) && insn[0] == 0x0f && insn[1] == 0x05;
}

bool Task::get_fpregs(user_fpregs_struct* fpregs) const {
  return ptrace(PTRACE_GETFPREGS, tid_, nullptr, fpregs) == 0;
}

bool Task::get_ymmh(uint8_t ymmh[16][16]) const {
  // The XSAVE area: legacy region (512) + header (64), then the AVX
  // component (upper halves of ymm0-15) at its standard offset 576.
  constexpr size_t kAvxOffset = 576;
  alignas(64) uint8_t xsave[4096];
  struct iovec iov = {xsave, sizeof xsave};
  if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0 ||
      iov.iov_len < kAvxOffset + 256) {
    return false;
  }
  uint64_t xstate_bv;
  memcpy(&xstate_bv, xsave + 512, sizeof xstate_bv);
  if (xstate_bv & 4) {
    memcpy(ymmh, xsave + kAvxOffset, 256);
  } else {
    memset(ymmh, 0, 256);  // AVX state in its initial (all zero) state
  }
  return true;
}

bool Task::set_debug_reg(int index, uint64_t value) {
  size_t offset = offsetof(struct user, u_debugreg) + index * sizeof(uint64_t);
  return ptrace(PTRACE_POKEUSER, tid_, reinterpret_cast<void*>(offset),
                reinterpret_cast<void*>(value)) == 0;
}

uint64_t Task::debug_reg(int index) const {
  size_t offset = offsetof(struct user, u_debugreg) + index * sizeof(uint64_t);
  errno = 0;
  return static_cast<uint64_t>(ptrace(PTRACE_PEEKUSER, tid_, reinterpret_cast<void*>(offset), nullptr));
}

}  // namespace rrx
