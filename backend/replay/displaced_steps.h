// Stepping a thread over a breakpoint without a single step ("displaced
// stepping"): instead of lifting the int3, single-stepping the original
// instruction and putting the int3 back (two ptrace stops per hit), the
// thread runs a copy of the instruction followed by a jump back to the
// instruction after it, and goes straight on to its next stop.
//
// Only plain instructions qualify (instrument/plain_insn.h: no branch,
// call, syscall, trap or time-reading instruction) and none with a
// rip-relative operand (the copy is too far from the code to fix one up);
// the others are stepped over as before. The copies live in the preload
// page's last bytes (RRX_DISPLACED_STEP_ADDR, preload/syscallbuf_abi.h),
// which exist in every process of a recording that buffers syscalls and
// which nothing else uses: the program's address space is the recorded
// one. The jump back is `jmp *0(%rip)`, which touches no register or flag
// and counts no soft tick; it would count a hardware tick (a retired
// branch), so sessions with hardware ticks never displace.
//
// A thread stops inside a copy only if the instruction faulted (its pc is
// then the copy's start) or trapped after it ran (a watchpoint: the pc is
// the jump back): settle() puts the pc back on the program's instruction,
// or the one after it, so the stop is the one the program makes natively.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/task.h"

namespace rrx {

class Breakpoints;

class DisplacedSteps {
 public:
  // Where a thread's displaced step runs: from the breakpoint at `from`,
  // its copy at `copy`, `length` bytes long.
  struct Step {
    uint64_t from = 0;
    uint64_t copy = 0;
    uint8_t length = 0;
  };

  // Sessions whose processes have no preload page, or count hardware
  // ticks, step every breakpoint off by a single step.
  explicit DisplacedSteps(bool enabled) : enabled_(enabled) {}

  // The copy from which `task` (of recorded process `tgid`) may run the
  // instruction at `address`, where a breakpoint sits; a step with copy 0
  // if that instruction must be single-stepped. Writes the copy into the
  // process the first time (or after forget()).
  Step prepare(Task& task, int32_t tgid, uint64_t address, const Breakpoints& breakpoints);

  // After `task`'s first stop since it started `step`: a pc left in the
  // copy goes back to the program's own address.
  static void settle(Task& task, const Step& step);

  // The copies of process `tgid` are gone (exec) or stale (code at
  // [lo, hi) was remapped or patched).
  void forget(int32_t tgid);
  void forget(int32_t tgid, uint64_t lo, uint64_t hi);
  // Every process was replaced by a checkpoint's copy, whose page holds
  // whatever was there when it was taken.
  void forget_all() { processes_.clear(); }

  // The program sees zeros where the copies are: a debugger's read of
  // [addr, addr + len) is shown so.
  void shadow(uint64_t addr, uint8_t* data, size_t len) const;

 private:
  static constexpr int kNotDisplaceable = -1;
  struct Slot {
    uint64_t address = 0;  // of the program instruction copied here
    uint8_t length = 0;    // 0: the slot is free
  };
  struct Process {
    // By program address: the slot holding its copy, or kNotDisplaceable.
    std::map<uint64_t, int> by_address;
    std::vector<Slot> slots;
    size_t next_slot = 0;  // the next one to (re)use
  };
  bool enabled_;
  std::map<int32_t, Process> processes_;
};

}  // namespace rrx
