// gdb's agent expressions: the bytecode gdb compiles a breakpoint
// condition into and sends with the breakpoint (Z0,addr,kind;X len,bytes),
// so the target evaluates the condition at every hit itself instead of
// stopping for gdb each time. Integer operations only, which is what gdb
// emits for conditions on integers and pointers; anything else (floating
// point, tracing) makes evaluation fail, and a failed condition counts as
// true: gdb then sees the hit and evaluates it itself.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "gdbserver/debug_target.h"

namespace rrx {

class AgentExpression {
 public:
  // "X<len>,<hex bytes>" as in a Z packet; nullopt if malformed.
  static std::optional<AgentExpression> parse(std::string_view text);
  explicit AgentExpression(std::vector<uint8_t> code) : code_(std::move(code)) {}

  // Reads `size` bytes at `address` into `out`; false if unreadable.
  using MemoryReader = std::function<bool(uint64_t address, void* out, size_t size)>;
  // The value of gdb's register `regno` (little endian); false if unknown.
  // A reader lets the caller fetch only the registers an expression uses.
  using RegisterReader = std::function<bool(int regno, std::vector<uint8_t>* out)>;
  // The expression's value with these registers and memory, nullopt if it
  // cannot be evaluated.
  std::optional<uint64_t> evaluate(const RegisterFile& regs, const MemoryReader& read) const;
  std::optional<uint64_t> evaluate(const RegisterReader& reg, const MemoryReader& read) const;

 private:
  std::vector<uint8_t> code_;
};

// Whether a breakpoint with these conditions stops: with none, always;
// otherwise if any is true (gdb ORs the conditions of a location).
bool any_condition_holds(const std::vector<AgentExpression>& conditions, const RegisterFile& regs,
                         const AgentExpression::MemoryReader& read);
// The same, reading registers through `reg` as they are needed.
bool any_condition_holds_reading(const std::vector<AgentExpression>& conditions,
                                 const AgentExpression::RegisterReader& reg,
                                 const AgentExpression::MemoryReader& read);

}  // namespace rrx
