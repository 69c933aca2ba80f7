#include "writing_instruction.h"

#include <Zydis/Zydis.h>

#include <memory>
#include <string>

namespace rrx {

namespace {

ZydisRegisterContext context_of(const user_regs_struct& r) {
  ZydisRegisterContext c{};
  c.values[ZYDIS_REGISTER_RAX] = r.rax;
  c.values[ZYDIS_REGISTER_RBX] = r.rbx;
  c.values[ZYDIS_REGISTER_RCX] = r.rcx;
  c.values[ZYDIS_REGISTER_RDX] = r.rdx;
  c.values[ZYDIS_REGISTER_RSI] = r.rsi;
  c.values[ZYDIS_REGISTER_RDI] = r.rdi;
  c.values[ZYDIS_REGISTER_RBP] = r.rbp;
  c.values[ZYDIS_REGISTER_RSP] = r.rsp;
  c.values[ZYDIS_REGISTER_R8] = r.r8;
  c.values[ZYDIS_REGISTER_R9] = r.r9;
  c.values[ZYDIS_REGISTER_R10] = r.r10;
  c.values[ZYDIS_REGISTER_R11] = r.r11;
  c.values[ZYDIS_REGISTER_R12] = r.r12;
  c.values[ZYDIS_REGISTER_R13] = r.r13;
  c.values[ZYDIS_REGISTER_R14] = r.r14;
  c.values[ZYDIS_REGISTER_R15] = r.r15;
  c.values[ZYDIS_REGISTER_RIP] = r.rip;
  return c;
}

enum class When { kBefore, kAfter };

// Whether the decoded instruction at `ip` stores into [addr, addr+size)
// given the registers before or after it ran.
bool stores_into(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops, uint64_t ip,
                 const user_regs_struct& regs, When when, uint64_t addr, uint64_t size) {
  ZydisRegisterContext context = context_of(regs);
  for (int i = 0; i < in.operand_count; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY || !(op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) {
      continue;
    }
    uint64_t target = 0;
    uint64_t width = op.size / 8;
    // Stack pushes (push, call) move rsp down onto what they store.
    if (op.visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT && op.mem.base == ZYDIS_REGISTER_RSP) {
      target = when == When::kAfter ? regs.rsp : regs.rsp - width;
    } else if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(&in, &op, ip, &context, &target))) {
      continue;
    }
    if (target < addr + size && addr < target + width) return true;
  }
  return false;
}

bool is_prefix_byte(uint8_t b) {
  switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
      return true;
    default:
      return (b & 0xf0) == 0x40;  // REX
  }
}

}  // namespace

// The readings of the bytes before the trap pc as one instruction ending
// there: every length that decodes to exactly that length. Which of them
// stores into the range depends on the registers; these do not.
struct WritingInstructionFinder::Candidates {
  struct One {
    size_t length;
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  };
  std::vector<One> all;  // shortest first
};

namespace {

std::unique_ptr<WritingInstructionFinder::Candidates> decode_candidates(
    const std::vector<uint8_t>& before) {
  auto out = std::make_unique<WritingInstructionFinder::Candidates>();
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  for (size_t length = 1; length <= before.size(); ++length) {
    WritingInstructionFinder::Candidates::One c;
    c.length = length;
    const uint8_t* start = before.data() + before.size() - length;
    if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, start, length, &c.in, c.ops)) &&
        c.in.length == length) {
      out->all.push_back(c);
    }
  }
  return out;
}

uint64_t pick(const WritingInstructionFinder::Candidates& candidates,
              const std::vector<uint8_t>& before, const user_regs_struct& regs, uint64_t addr,
              uint64_t size) {
  std::vector<size_t> lengths;  // of the candidates that store there, shortest first
  for (const auto& c : candidates.all) {
    if (stores_into(c.in, c.ops, regs.rip - c.length, regs, When::kAfter, addr, size)) {
      lengths.push_back(c.length);
    }
  }
  // A store with prefixes (REX.W: 48 89 04 11) still decodes as a store
  // without them (89 04 11): those shorter readings are the same one.
  auto only_prefixes = [&](size_t longer, size_t shorter) {
    for (size_t i = before.size() - longer; i < before.size() - shorter; ++i) {
      if (!is_prefix_byte(before[i])) return false;
    }
    return true;
  };
  std::vector<size_t> distinct;
  for (size_t i = 0; i < lengths.size(); ++i) {
    bool same_as_longer = false;
    for (size_t j = i + 1; j < lengths.size(); ++j) same_as_longer |= only_prefixes(lengths[j], lengths[i]);
    if (!same_as_longer) distinct.push_back(lengths[i]);
  }
  return distinct.size() == 1 ? regs.rip - distinct[0] : 0;  // 0: cannot tell
}

}  // namespace

uint64_t find_writing_instruction(const std::vector<uint8_t>& before,
                                  const user_regs_struct& regs, uint64_t addr, uint64_t size) {
  return pick(*decode_candidates(before), before, regs, addr, size);
}

WritingInstructionFinder::WritingInstructionFinder() = default;
WritingInstructionFinder::~WritingInstructionFinder() = default;

uint64_t WritingInstructionFinder::find(const std::vector<uint8_t>& before,
                                        const user_regs_struct& regs, uint64_t addr,
                                        uint64_t size) {
  std::string key(reinterpret_cast<const char*>(&regs.rip), sizeof regs.rip);
  key.append(before.begin(), before.end());
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    it = cache_.emplace(key, decode_candidates(before)).first;
  }
  return pick(*it->second, before, regs, addr, size);
}

bool will_store_into(const std::vector<uint8_t>& code, const user_regs_struct& regs,
                     uint64_t addr, uint64_t size) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code.data(), code.size(), &in, ops)) &&
         stores_into(in, ops, regs.rip, regs, When::kBefore, addr, size);
}

}  // namespace rrx
