#include "core/instruction.h"

#include <cpuid.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cstdio>
#include <cstring>

namespace rrx {

bool cpuid_faulting_available() {
  // Asking for what we already have (cpuid enabled) fails with ENODEV
  // exactly when faulting is unsupported.
  static const bool available = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1) == 0;
  return available;
}

std::string cpu_signature() {
  unsigned regs[12] = {};
  __cpuid(0, regs[0], regs[1], regs[2], regs[3]);
  char vendor[13] = {};
  memcpy(vendor, &regs[1], 4);
  memcpy(vendor + 4, &regs[3], 4);
  memcpy(vendor + 8, &regs[2], 4);
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  char brand[49] = {};
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    __cpuid(0x80000002 + leaf, regs[0], regs[1], regs[2], regs[3]);
    memcpy(brand + 16 * leaf, regs, 16);
  }
  char out[128];
  snprintf(out, sizeof out, "%s %08x %s", vendor, a, brand);
  return out;
}

InsnResult decode_trapped_insn(const Task& task, const Registers& regs) {
  unsigned char bytes[3] = {};
  InsnResult r;
  if (!task.read_mem(regs.rip, bytes, sizeof bytes)) return r;
  if (bytes[0] != 0x0f) return r;
  if (bytes[1] == 0x31) {
    r.insn = TrappedInsn::kRdtsc;
    r.length = 2;
  } else if (bytes[1] == 0xa2) {
    r.insn = TrappedInsn::kCpuid;
    r.length = 2;
  } else if (bytes[1] == 0x01 && bytes[2] == 0xf9) {
    r.insn = TrappedInsn::kRdtscp;
    r.length = 3;
  }
  return r;
}

void emulate_trapped_insn(const Registers& regs, InsnResult* r) {
  switch (r->insn) {
    case TrappedInsn::kRdtsc: {
      uint64_t tsc = __rdtsc();
      r->rax = tsc & 0xffffffff;
      r->rdx = tsc >> 32;
      r->rbx = regs.rbx;
      r->rcx = regs.rcx;
      break;
    }
    case TrappedInsn::kRdtscp: {
      unsigned aux;
      uint64_t tsc = __rdtscp(&aux);
      r->rax = tsc & 0xffffffff;
      r->rdx = tsc >> 32;
      r->rcx = aux;
      r->rbx = regs.rbx;
      break;
    }
    case TrappedInsn::kCpuid: {
      unsigned a, b, c, d;
      __cpuid_count(static_cast<unsigned>(regs.rax), static_cast<unsigned>(regs.rcx), a, b, c, d);
      if (static_cast<uint32_t>(regs.rax) == 1) c &= ~(1u << 30);  // RDRAND
      if (static_cast<uint32_t>(regs.rax) == 7 && static_cast<uint32_t>(regs.rcx) == 0) {
        b &= ~((1u << 18) | (1u << 11) | (1u << 4));  // RDSEED, RTM, HLE
      }
      r->rax = a;
      r->rbx = b;
      r->rcx = c;
      r->rdx = d;
      break;
    }
    case TrappedInsn::kNone:
      break;
  }
}

void apply_trapped_insn(const InsnResult& r, Registers* regs) {
  regs->rax = r.rax;
  regs->rbx = r.rbx;
  regs->rcx = r.rcx;
  regs->rdx = r.rdx;
  regs->rip += r.length;
}

}  // namespace rrx
