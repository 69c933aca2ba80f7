#include "replay/displaced_steps.h"

#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstring>

#include "instrument/plain_insn.h"
#include "preload/syscallbuf_abi.h"
#include "replay/breakpoints.h"

namespace rrx {

namespace {

constexpr size_t kMaxInsn = 15;
// A copy: the instruction, then jmp *0(%rip) and the 8-byte address.
constexpr uint8_t kJmpIndirect[] = {0xff, 0x25, 0, 0, 0, 0};
constexpr size_t kSlotSize = 32;
static_assert(kMaxInsn + sizeof kJmpIndirect + 8 <= kSlotSize);
constexpr size_t kSlots = RRX_DISPLACED_STEP_SIZE / kSlotSize;
// The copies keep off the page's other contents: the header, the engine's
// entry slot and the untraced `syscall; ret`.
static_assert(RRX_DISPLACED_STEP_ADDR >= RRX_UNTRACED_SYSCALL_ADDR + 3 &&
              RRX_DISPLACED_STEP_ADDR + RRX_DISPLACED_STEP_SIZE <=
                  RRX_PRELOAD_PAGE_ADDR + RRX_PRELOAD_PAGE_SIZE);

uint64_t slot_address(size_t slot) { return RRX_DISPLACED_STEP_ADDR + slot * kSlotSize; }

// The length of the instruction in `code` if a copy of it anywhere runs as
// it would in place; 0 otherwise.
size_t displaceable_length(const uint8_t* code, size_t len) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecoderContext ctx;
  ZydisDecodedInstruction in;
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, &ctx, code, len, &in))) return 0;
  if (!instrument::is_plain_insn(in)) return 0;
  // Rip-relative memory operand (mod 00, r/m 101, no SIB): disp32 off rip.
  bool riprel = (in.attributes & ZYDIS_ATTRIB_HAS_MODRM) && in.raw.modrm.mod == 0 &&
                in.raw.modrm.rm == 5 && !(in.attributes & ZYDIS_ATTRIB_HAS_SIB);
  return riprel ? 0 : in.length;
}

}  // namespace

DisplacedSteps::Step DisplacedSteps::prepare(Task& task, int32_t tgid, uint64_t address,
                                             const Breakpoints& breakpoints) {
  if (!enabled_) return {};
  Process& p = processes_[tgid];
  auto it = p.by_address.find(address);
  if (it != p.by_address.end()) {
    if (it->second == kNotDisplaceable) return {};
    size_t slot = static_cast<size_t>(it->second);
    return {address, slot_address(slot), p.slots[slot].length};
  }
  // The instruction as it runs (a tick stub's copy included), with the
  // int3s of this and any following breakpoint taken out. Up to the end of
  // the page first: the next one may be unmapped.
  uint8_t code[kMaxInsn] = {};
  size_t in_page = std::min<size_t>(kMaxInsn, 4096 - (address & 4095));
  size_t have = task.read_mem(address, code, in_page) ? in_page : 0;
  if (have == in_page && have < kMaxInsn && task.read_mem(address + have, code + have, kMaxInsn - have)) {
    have = kMaxInsn;
  }
  breakpoints.shadow(address, code, have);
  size_t length = have ? displaceable_length(code, have) : 0;
  if (length == 0) {
    p.by_address[address] = kNotDisplaceable;
    return {};
  }
  if (p.slots.empty()) p.slots.resize(kSlots);
  size_t slot = p.next_slot;
  p.next_slot = (slot + 1) % kSlots;
  if (p.slots[slot].length) p.by_address.erase(p.slots[slot].address);
  p.slots[slot] = {};
  uint8_t copy[kSlotSize] = {};
  memcpy(copy, code, length);
  memcpy(copy + length, kJmpIndirect, sizeof kJmpIndirect);
  uint64_t back = address + length;
  memcpy(copy + length + sizeof kJmpIndirect, &back, sizeof back);
  if (!task.write_mem(slot_address(slot), copy, sizeof copy)) {
    p.by_address[address] = kNotDisplaceable;
    return {};
  }
  p.slots[slot] = {address, static_cast<uint8_t>(length)};
  p.by_address[address] = static_cast<int>(slot);
  return {address, slot_address(slot), static_cast<uint8_t>(length)};
}

void DisplacedSteps::settle(Task& task, const Step& step) {
  Registers regs;
  if (!task.get_regs(&regs)) return;
  if (regs.rip == step.copy) {
    regs.rip = step.from;  // it faulted: natively, at the instruction
  } else if (regs.rip == step.copy + step.length) {
    regs.rip = step.from + step.length;  // it ran and trapped: after it
  } else {
    return;
  }
  task.set_regs(regs);
}

void DisplacedSteps::forget(int32_t tgid) { processes_.erase(tgid); }

void DisplacedSteps::forget(int32_t tgid, uint64_t lo, uint64_t hi) {
  auto p = processes_.find(tgid);
  if (p == processes_.end()) return;
  // An instruction starting up to kMaxInsn bytes before lo reaches into it.
  auto& by_address = p->second.by_address;
  for (auto it = by_address.lower_bound(lo > kMaxInsn ? lo - kMaxInsn : 0);
       it != by_address.end() && it->first < hi;) {
    if (it->second != kNotDisplaceable) p->second.slots[static_cast<size_t>(it->second)] = {};
    it = by_address.erase(it);
  }
}

void DisplacedSteps::shadow(uint64_t addr, uint8_t* data, size_t len) const {
  if (!enabled_) return;
  uint64_t lo = std::max<uint64_t>(addr, RRX_DISPLACED_STEP_ADDR);
  uint64_t hi = std::min<uint64_t>(addr + len, RRX_DISPLACED_STEP_ADDR + RRX_DISPLACED_STEP_SIZE);
  if (lo < hi) memset(data + (lo - addr), 0, hi - lo);
}

}  // namespace rrx
