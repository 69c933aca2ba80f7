// One traced thread: its registers, memory and ptrace controls. The
// record and replay sessions own Tasks; nothing else calls ptrace.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "syscalls/syscall_table.h"
#include "trace/event.h"

namespace rrx {

class HwThreadTicks;
struct TickCounters;

class Task final : public TraceeMemory {
 public:
  // `tick_counters`: the session's hardware tick choice (hw_tick_source.h),
  // if it counts hardware ticks; it must outlive the Task.
  explicit Task(pid_t tid, TickCounters* tick_counters = nullptr);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  pid_t tid() const { return tid_; }

  bool get_regs(Registers* regs) const;
  bool set_regs(const Registers& regs);
  // From now on get_regs() answers from a copy taken at the first call in
  // each stop (set_regs() keeps it up to date, every resume drops it): one
  // PTRACE_GETREGS per stop however many layers look. Only for a session
  // that changes the thread's registers through this Task alone (replay;
  // the recorder's emulated ptrace writes them behind its back).
  void cache_registers() { cache_regs_ = true; }
  // Drops the copy (the registers may have changed some other way).
  void forget_registers() { regs_valid_ = false; }
  bool get_siginfo(siginfo_t* info) const;
  bool set_siginfo(const siginfo_t& info);
  // The thread's blocked signals (bit N-1 for signal N).
  bool get_sigmask(uint64_t* mask) const;
  bool set_sigmask(uint64_t mask);
  // PTRACE_GETEVENTMSG: the new tid at fork/clone events, status at exit.
  unsigned long event_msg() const;

  bool read_mem(uint64_t addr, void* buf, size_t len) const;
  bool write_mem(uint64_t addr, const void* buf, size_t len);
  // TraceeMemory, for the syscall table's rules.
  bool read(uint64_t addr, void* buf, size_t len) override { return read_mem(addr, buf, len); }
  // Reads a NUL-terminated string of at most `max` bytes.
  std::string read_string(uint64_t addr, size_t max = 4096) const;
  // After exec the old /proc/<tid>/mem refers to the dead address space.
  void reopen_mem();

  // PTRACE_SYSCALL: run to the next syscall entry/exit or other stop,
  // delivering `sig` if non-zero.
  bool resume(int sig = 0);
  // PTRACE_CONT: run to the next stop; syscalls stop only where a seccomp
  // filter says SECCOMP_RET_TRACE (see core/seccomp_filter.h).
  bool cont(int sig = 0);
  // PTRACE_SINGLESTEP: run one instruction. Never use it on a `syscall`
  // instruction: the syscall would run with no syscall stop.
  bool single_step(int sig = 0);
  // Whether the instruction at `rip` is `syscall`.
  bool at_syscall_insn(uint64_t rip) const;

  // x87/SSE state (FXSAVE layout) and the AVX upper halves (16 x 16 bytes).
  bool get_fpregs(user_fpregs_struct* fpregs) const;
  bool get_ymmh(uint8_t ymmh[16][16]) const;
  // Debug registers DR0-DR7 (4 and 5 are reserved).
  bool set_debug_reg(int index, uint64_t value);
  uint64_t debug_reg(int index) const;

  // Address of a `syscall` instruction usable for injected syscalls (set
  // once the vdso is patched), 0 if none yet.
  uint64_t syscall_gadget = 0;
  // The preload page's untraced `syscall` (RRX_UNTRACED_SYSCALL_ADDR) once
  // the page is mapped and while no seccomp filter of the program's judges
  // this thread's calls (rrx's own lets that address through without a
  // stop): injected syscalls run there in one single step, 0 if not.
  uint64_t untraced_syscall = 0;

  // The thread's hardware tick counter when the session counts hardware
  // ticks (core/hw_tick_source.h owns it; opened before the first resume).
  TickCounters* const tick_counters;
  mutable std::unique_ptr<HwThreadTicks> hw_ticks;

 private:
  pid_t tid_;
  int mem_fd_ = -1;
  bool cache_regs_ = false;
  mutable bool regs_valid_ = false;
  mutable Registers regs_{};
};

}  // namespace rrx
