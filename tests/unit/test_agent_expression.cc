// gdb agent expressions as the server evaluates breakpoint conditions. The
// bytecodes are written out by hand from gdb's "Bytecode Descriptions"
// (opcode numbers, big-endian immediates), the way gdb compiles e.g.
// `i == 7` for an int at -0x14(%rbp).
#include "gdbserver/agent_expression.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace rrx {
namespace {

std::optional<uint64_t> run(const std::vector<uint8_t>& code, const RegisterFile& regs = {},
                            const std::map<uint64_t, uint64_t>& memory = {}) {
  return AgentExpression(code).evaluate(regs, [&](uint64_t at, void* out, size_t size) {
    auto it = memory.find(at);
    if (it == memory.end()) return false;
    memcpy(out, &it->second, size);
    return true;
  });
}

TEST(AgentExpression, Arithmetic) {
  EXPECT_EQ(run({0x22, 3, 0x22, 4, 0x02, 0x27}), 7u);            // 3 + 4
  EXPECT_EQ(run({0x22, 3, 0x22, 4, 0x03, 0x27}), uint64_t(-1));  // 3 - 4
  EXPECT_EQ(run({0x23, 0x01, 0x00, 0x22, 7, 0x07, 0x27}), 4u);   // 256 % 7
  EXPECT_EQ(run({0x22, 0xff, 0x16, 8, 0x27}), uint64_t(-1));     // ext 8 of 0xff
  EXPECT_EQ(run({0x25, 0, 0, 0, 1, 0, 0, 0, 5, 0x2a, 32, 0x27}), 5u);  // zero_ext 32
  EXPECT_EQ(run({0x22, 1, 0x22, 0, 0x05, 0x27}), std::nullopt);  // division by zero
}

TEST(AgentExpression, ComparesALocalVariableLikeGdb) {
  // reg rbp; const8 0x14; sub; ref32; ext 32; const8 7; equal; end
  std::vector<uint8_t> code = {0x26, 0, 6, 0x22, 0x14, 0x03, 0x19, 0x16, 32, 0x22, 7, 0x13, 0x27};
  RegisterFile regs;
  regs.gpr.rbp = 0x1000;
  EXPECT_EQ(run(code, regs, {{0x1000 - 0x14, 7}}), 1u);
  EXPECT_EQ(run(code, regs, {{0x1000 - 0x14, 8}}), 0u);
  EXPECT_EQ(run(code, regs, {}), std::nullopt);  // unreadable memory
}

TEST(AgentExpression, BranchesAndStack) {
  // const8 C; if_goto 10; const8 1; goto 12; const8 2; end: 1 if C == 0, else 2
  EXPECT_EQ(run({0x22, 0, 0x20, 0, 10, 0x22, 1, 0x21, 0, 12, 0x22, 2, 0x27}), 1u);
  EXPECT_EQ(run({0x22, 5, 0x20, 0, 10, 0x22, 1, 0x21, 0, 12, 0x22, 2, 0x27}), 2u);
  EXPECT_EQ(run({0x22, 1, 0x22, 2, 0x2b, 0x29, 0x27}), 2u);  // swap, pop
  EXPECT_EQ(run({0x22, 1, 0x22, 2, 0x32, 1, 0x27}), 1u);     // pick 1
  EXPECT_EQ(run({0x21, 0, 0}), std::nullopt);                 // goto itself forever
  EXPECT_EQ(run({0x02, 0x27}), std::nullopt);                 // stack underflow
  EXPECT_EQ(run({0x22}), std::nullopt);                       // cut-off immediate
}

TEST(AgentExpression, ParseAndAnyCondition) {
  auto yes = AgentExpression::parse("X3,220127");  // const8 1; end
  auto no = AgentExpression::parse("X3,220027");   // const8 0; end
  ASSERT_TRUE(yes && no);
  EXPECT_FALSE(AgentExpression::parse("X4,220127"));  // length disagrees
  EXPECT_FALSE(AgentExpression::parse("Y3,220127"));
  auto read = [](uint64_t, void*, size_t) { return false; };
  EXPECT_TRUE(any_condition_holds({}, {}, read));
  EXPECT_FALSE(any_condition_holds({*no}, {}, read));
  EXPECT_TRUE(any_condition_holds({*no, *yes}, {}, read));
  // A condition that cannot be evaluated stops, so gdb decides.
  EXPECT_TRUE(any_condition_holds({AgentExpression({0x01})}, {}, read));
}

TEST(AgentExpression, ReadsOnlyTheRegistersItNames) {
  // reg rbp (6); const8 0x14; sub; ref32; ext 32; const8 7; equal; end
  std::vector<uint8_t> code = {0x26, 0, 6, 0x22, 0x14, 0x03, 0x19, 0x16, 32, 0x22, 7, 0x13, 0x27};
  std::vector<int> asked;
  auto reg = [&](int regno, std::vector<uint8_t>* out) {
    asked.push_back(regno);
    uint64_t rbp = 0x1000;
    out->assign(reinterpret_cast<uint8_t*>(&rbp), reinterpret_cast<uint8_t*>(&rbp) + 8);
    return true;
  };
  auto read = [](uint64_t at, void* out, size_t size) {
    uint32_t seven = 7;
    if (at != 0x1000 - 0x14 || size != 4) return false;
    memcpy(out, &seven, size);
    return true;
  };
  EXPECT_TRUE(any_condition_holds_reading({AgentExpression(code)}, reg, read));
  EXPECT_EQ(asked, std::vector<int>{6});
  // A register the reader cannot give makes the condition unevaluable: true.
  auto none = [](int, std::vector<uint8_t>*) { return false; };
  EXPECT_EQ(AgentExpression(code).evaluate(none, read), std::nullopt);
  EXPECT_TRUE(any_condition_holds_reading({AgentExpression(code)}, none, read));
}

}  // namespace
}  // namespace rrx
