#include "gdbserver/agent_expression.h"

#include "gdbserver/amd64_registers.h"
#include "gdbserver/rsp_codec.h"

namespace rrx {
namespace {

// Opcodes, as gdb's "Bytecode Descriptions" number them.
enum Op : uint8_t {
  kAdd = 0x02, kSub = 0x03, kMul = 0x04, kDivSigned = 0x05, kDivUnsigned = 0x06,
  kRemSigned = 0x07, kRemUnsigned = 0x08, kLsh = 0x09, kRshSigned = 0x0a,
  kRshUnsigned = 0x0b, kLogNot = 0x0e, kBitAnd = 0x0f, kBitOr = 0x10, kBitXor = 0x11,
  kBitNot = 0x12, kEqual = 0x13, kLessSigned = 0x14, kLessUnsigned = 0x15, kExt = 0x16,
  kRef8 = 0x17, kRef16 = 0x18, kRef32 = 0x19, kRef64 = 0x1a, kIfGoto = 0x20, kGoto = 0x21,
  kConst8 = 0x22, kConst16 = 0x23, kConst32 = 0x24, kConst64 = 0x25, kReg = 0x26,
  kEnd = 0x27, kDup = 0x28, kPop = 0x29, kZeroExt = 0x2a, kSwap = 0x2b, kPick = 0x32,
};

// Stops runaway bytecode (a goto loop) and stack growth.
constexpr size_t kMaxSteps = 100000;
constexpr size_t kMaxStack = 1024;

uint64_t sign_extend(uint64_t v, unsigned bits) {
  if (bits == 0 || bits >= 64) return v;
  uint64_t sign = uint64_t{1} << (bits - 1);
  v &= (sign << 1) - 1;
  return (v ^ sign) - sign;
}

uint64_t zero_extend(uint64_t v, unsigned bits) {
  return bits == 0 || bits >= 64 ? v : v & ((uint64_t{1} << bits) - 1);
}

}  // namespace

std::optional<AgentExpression> AgentExpression::parse(std::string_view text) {
  if (text.empty() || text[0] != 'X') return std::nullopt;
  size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto length = rsp::parse_hex_number(text.substr(1, comma - 1));
  auto bytes = rsp::from_hex(text.substr(comma + 1));
  if (!length || !bytes || bytes->size() != *length) return std::nullopt;
  return AgentExpression(std::move(*bytes));
}

std::optional<uint64_t> AgentExpression::evaluate(const RegisterFile& regs,
                                                  const MemoryReader& read) const {
  return evaluate(
      [&](int regno, std::vector<uint8_t>* out) { return amd64::get_register(regs, regno, out); },
      read);
}

std::optional<uint64_t> AgentExpression::evaluate(const RegisterReader& reg,
                                                  const MemoryReader& read) const {
  std::vector<uint64_t> stack;
  size_t pc = 0;
  // Big-endian immediate of `n` bytes after the opcode.
  auto immediate = [&](size_t n) -> std::optional<uint64_t> {
    if (pc + n > code_.size()) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | code_[pc + i];
    pc += n;
    return v;
  };
  for (size_t steps = 0; steps < kMaxSteps && pc < code_.size() && stack.size() < kMaxStack;
       ++steps) {
    uint8_t op = code_[pc++];
    // Binary operations pop b (top) then a.
    if ((op >= kAdd && op <= kRshUnsigned) || (op >= kBitAnd && op <= kBitXor) ||
        (op >= kEqual && op <= kLessUnsigned)) {
      if (stack.size() < 2) return std::nullopt;
      uint64_t b = stack.back();
      stack.pop_back();
      uint64_t a = stack.back();
      int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
      uint64_t r = 0;
      switch (op) {
        case kAdd: r = a + b; break;
        case kSub: r = a - b; break;
        case kMul: r = a * b; break;
        case kDivSigned:
        case kRemSigned:
          if (b == 0 || (sa == INT64_MIN && sb == -1)) return std::nullopt;
          r = static_cast<uint64_t>(op == kDivSigned ? sa / sb : sa % sb);
          break;
        case kDivUnsigned:
        case kRemUnsigned:
          if (b == 0) return std::nullopt;
          r = op == kDivUnsigned ? a / b : a % b;
          break;
        case kLsh: r = b >= 64 ? 0 : a << b; break;
        case kRshSigned: r = static_cast<uint64_t>(sa >> (b >= 64 ? 63 : b)); break;
        case kRshUnsigned: r = b >= 64 ? 0 : a >> b; break;
        case kBitAnd: r = a & b; break;
        case kBitOr: r = a | b; break;
        case kBitXor: r = a ^ b; break;
        case kEqual: r = a == b; break;
        case kLessSigned: r = sa < sb; break;
        case kLessUnsigned: r = a < b; break;
      }
      stack.back() = r;
      continue;
    }
    switch (op) {
      case kLogNot:
      case kBitNot:
        if (stack.empty()) return std::nullopt;
        stack.back() = op == kLogNot ? stack.back() == 0 : ~stack.back();
        break;
      case kExt:
      case kZeroExt: {
        auto bits = immediate(1);
        if (!bits || stack.empty()) return std::nullopt;
        unsigned n = static_cast<unsigned>(*bits);
        stack.back() = op == kExt ? sign_extend(stack.back(), n) : zero_extend(stack.back(), n);
        break;
      }
      case kRef8:
      case kRef16:
      case kRef32:
      case kRef64: {
        if (stack.empty()) return std::nullopt;
        size_t size = size_t{1} << (op - kRef8);
        uint64_t value = 0;  // little-endian target: the low bytes
        if (!read(stack.back(), &value, size)) return std::nullopt;
        stack.back() = value;
        break;
      }
      case kIfGoto:
      case kGoto: {
        auto target = immediate(2);
        if (!target) return std::nullopt;
        bool jump = true;
        if (op == kIfGoto) {
          if (stack.empty()) return std::nullopt;
          jump = stack.back() != 0;
          stack.pop_back();
        }
        if (jump) pc = *target;
        break;
      }
      case kConst8:
      case kConst16:
      case kConst32:
      case kConst64: {
        auto value = immediate(size_t{1} << (op - kConst8));
        if (!value) return std::nullopt;
        stack.push_back(*value);
        break;
      }
      case kReg: {
        auto regno = immediate(2);
        std::vector<uint8_t> bytes;
        if (!regno || !reg(static_cast<int>(*regno), &bytes)) {
          return std::nullopt;
        }
        uint64_t value = 0;
        for (size_t i = 0; i < bytes.size() && i < 8; ++i) value |= uint64_t{bytes[i]} << (8 * i);
        stack.push_back(value);
        break;
      }
      case kEnd:
        if (stack.empty()) return std::nullopt;
        return stack.back();
      case kDup:
        if (stack.empty()) return std::nullopt;
        stack.push_back(stack.back());
        break;
      case kPop:
        if (stack.empty()) return std::nullopt;
        stack.pop_back();
        break;
      case kSwap:
        if (stack.size() < 2) return std::nullopt;
        std::swap(stack[stack.size() - 1], stack[stack.size() - 2]);
        break;
      case kPick: {
        auto depth = immediate(1);
        if (!depth || *depth >= stack.size()) return std::nullopt;
        stack.push_back(stack[stack.size() - 1 - *depth]);
        break;
      }
      default:
        return std::nullopt;  // floating point, tracing, variables: not here
    }
  }
  return std::nullopt;  // ran off the end or too long
}

bool any_condition_holds(const std::vector<AgentExpression>& conditions, const RegisterFile& regs,
                         const AgentExpression::MemoryReader& read) {
  return any_condition_holds_reading(
      conditions,
      [&](int regno, std::vector<uint8_t>* out) { return amd64::get_register(regs, regno, out); },
      read);
}

bool any_condition_holds_reading(const std::vector<AgentExpression>& conditions,
                                 const AgentExpression::RegisterReader& reg,
                                 const AgentExpression::MemoryReader& read) {
  if (conditions.empty()) return true;
  for (const AgentExpression& condition : conditions) {
    std::optional<uint64_t> value = condition.evaluate(reg, read);
    if (!value || *value != 0) return true;
  }
  return false;
}

}  // namespace rrx
