#include "record/cpuid_answers.h"

#include <cstddef>

namespace rrx {

void CpuidAnswers::learn(const Registers& regs, const InsnResult& result) {
  if (result.insn != TrappedInsn::kCpuid || table_.count >= RRX_CPUID_TABLE_MAX) return;
  // The inputs are eax and ecx: the upper halves of rax and rcx are ignored.
  const uint32_t leaf = static_cast<uint32_t>(regs.rax), subleaf = static_cast<uint32_t>(regs.rcx);
  for (uint32_t i = 0; i < table_.count; ++i) {
    if (table_.entries[i].leaf == leaf && table_.entries[i].subleaf == subleaf) return;
  }
  rrx_cpuid_entry& e = table_.entries[table_.count++];
  e.leaf = leaf;
  e.subleaf = subleaf;
  e.eax = static_cast<uint32_t>(result.rax);
  e.ebx = static_cast<uint32_t>(result.rbx);
  e.ecx = static_cast<uint32_t>(result.rcx);
  e.edx = static_cast<uint32_t>(result.rdx);
}

bool CpuidAnswers::give(Task& task, MemWrite* w) const {
  if (table_.count == 0) return false;
  const size_t used = offsetof(rrx_cpuid_table, entries) + table_.count * sizeof(rrx_cpuid_entry);
  w->addr = RRX_CPUID_TABLE_ADDR;
  w->data.assign(reinterpret_cast<const char*>(&table_), used);
  return task.write_mem(w->addr, w->data.data(), w->data.size());
}

}  // namespace rrx
