#include "core/registers.h"

#include <cinttypes>
#include <cstddef>
#include <cstdio>

namespace rrx {

namespace {

struct Field {
  const char* name;
  size_t offset;
};

#define RRX_FIELD(f) {#f, offsetof(Registers, f)}
// eflags is left out: the kernel may leave RF/TF differing at stops with
// no effect on the program. Segment selectors are constant for a process.
constexpr Field kCompared[] = {
    RRX_FIELD(rip), RRX_FIELD(rsp), RRX_FIELD(rax), RRX_FIELD(orig_rax), RRX_FIELD(rdi),
    RRX_FIELD(rsi), RRX_FIELD(rdx), RRX_FIELD(r10), RRX_FIELD(r8), RRX_FIELD(r9),
    RRX_FIELD(rbx), RRX_FIELD(rcx), RRX_FIELD(rbp), RRX_FIELD(r11), RRX_FIELD(r12),
    RRX_FIELD(r13), RRX_FIELD(r14), RRX_FIELD(r15), RRX_FIELD(fs_base), RRX_FIELD(gs_base),
};
#undef RRX_FIELD

uint64_t field(const Registers& regs, size_t offset) {
  return *reinterpret_cast<const uint64_t*>(reinterpret_cast<const char*>(&regs) + offset);
}

}  // namespace

std::string diff_registers(const Registers& expected, const Registers& actual) {
  for (const Field& f : kCompared) {
    uint64_t want = field(expected, f.offset), got = field(actual, f.offset);
    if (want != got) {
      char buf[128];
      snprintf(buf, sizeof buf, "%s is 0x%" PRIx64 ", recorded 0x%" PRIx64, f.name, got, want);
      return buf;
    }
  }
  return "";
}

}  // namespace rrx
