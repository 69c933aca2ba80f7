// The instructions whose results differ run to run and that the kernel
// can trap for us: rdtsc, rdtscp (PR_SET_TSC) and cpuid (ARCH_SET_CPUID).
#pragma once

#include <cstdint>
#include <string>

#include "core/task.h"

namespace rrx {

enum class TrappedInsn { kNone, kRdtsc, kRdtscp, kCpuid };

struct InsnResult {
  TrappedInsn insn = TrappedInsn::kNone;
  uint32_t length = 0;
  uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0;
};

// Whether this CPU and kernel can make cpuid trap (ARCH_SET_CPUID); many
// VMs cannot, and then cpuid runs natively in record and replay alike.
bool cpuid_faulting_available();

// "vendor family/model/stepping brand" of this CPU, from cpuid.
std::string cpu_signature();

// Which trapped instruction (if any) is at regs.rip.
InsnResult decode_trapped_insn(const Task& task, const Registers& regs);

// Executes the instruction natively in the tracer with the tracee's
// inputs, masking cpuid features that would let the program produce
// untrappable non-determinism (RDRAND, RDSEED, RTM/HLE).
void emulate_trapped_insn(const Registers& regs, InsnResult* result);

// Writes the results into regs and steps past the instruction.
void apply_trapped_insn(const InsnResult& result, Registers* regs);

}  // namespace rrx
