// cpuid_answers.h - the cpuid results a recording has emulated, handed to
// every later process so that its cpuid sites are answered by the buffering
// engine instead of trapping (preload/syscallbuf_abi.h, CPUID SITES).
#pragma once

#include <cstdint>

#include "core/instruction.h"
#include "core/task.h"
#include "preload/syscallbuf_abi.h"
#include "trace/event.h"

namespace rrx {

class CpuidAnswers {
 public:
  // A trapped cpuid with inputs `regs` was emulated as `result`: later
  // processes get the answer (until the table is full).
  void learn(const Registers& regs, const InsnResult& result);

  // At a process's exec, after its preload page is mapped: writes the
  // answers learnt so far into the page and describes the write in *w (the
  // trace carries it, so replay writes the same). False if there are none
  // (or the write failed: the process then traps on every cpuid, as
  // without the table).
  bool give(Task& task, MemWrite* w) const;

 private:
  rrx_cpuid_table table_ = {};
};

}  // namespace rrx
