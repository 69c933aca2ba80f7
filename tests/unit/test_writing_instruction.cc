// python/writing_instruction.cc: which instruction ending at a watchpoint
// trap's pc made the write, and whether the next instruction will store
// into a range. Encodings from the Intel SDM, written out by hand.
#include "writing_instruction.h"

#include <gtest/gtest.h>

namespace rrx {
namespace {

constexpr uint64_t kEnd = 0x555555555180;  // pc after the code under test

user_regs_struct after_at(uint64_t rip) {
  user_regs_struct regs{};
  regs.rip = rip;
  regs.rsp = 0x7ffe0000;
  return regs;
}

// 15 bytes of code ending at kEnd: filler, then `tail`.
std::vector<uint8_t> ending_with(std::vector<uint8_t> tail) {
  std::vector<uint8_t> code(15 - tail.size(), 0x90);  // nop
  code.insert(code.end(), tail.begin(), tail.end());
  return code;
}

TEST(WritingInstruction, RipRelativeStore) {
  // mov %eax, 0x2e95(%rip), after mov -0x4(%rbp),%eax
  auto code = ending_with({0x8b, 0x45, 0xfc, 0x89, 0x05, 0x95, 0x2e, 0x00, 0x00});
  uint64_t global = kEnd + 0x2e95;
  EXPECT_EQ(find_writing_instruction(code, after_at(kEnd), global, 4), kEnd - 6);
  EXPECT_EQ(find_writing_instruction(code, after_at(kEnd), global + 2, 1), kEnd - 6);
  // A range it does not touch.
  EXPECT_EQ(find_writing_instruction(code, after_at(kEnd), global + 4, 4), 0u);
}

TEST(WritingInstruction, PrefixedStoreIsNotItsOwnTail) {
  // mov %rax,(%rcx,%rdx,1) is 48 89 04 11; 89 04 11 alone also decodes
  // as a (4-byte) store to the same place.
  auto code = ending_with({0x48, 0x89, 0x04, 0x11});
  user_regs_struct regs = after_at(kEnd);
  regs.rcx = 0x555555558000;
  regs.rdx = 0x40;
  EXPECT_EQ(find_writing_instruction(code, regs, 0x555555558040, 8), kEnd - 4);
}

TEST(WritingInstruction, PushStoresBelowTheOldStackPointer) {
  auto code = ending_with({0x50});  // push %rax
  user_regs_struct regs = after_at(kEnd);
  EXPECT_EQ(find_writing_instruction(code, regs, regs.rsp, 8), kEnd - 1);
  EXPECT_EQ(find_writing_instruction(code, regs, regs.rsp + 8, 8), 0u);
}

TEST(WritingInstruction, NoStore) {
  auto code = ending_with({0x01, 0xc0});  // add %eax,%eax
  EXPECT_EQ(find_writing_instruction(code, after_at(kEnd), kEnd + 0x2e95, 4), 0u);
}

TEST(WritingInstructionFinder, RemembersTheDecodingNotTheRegisters) {
  // The same indexed store met again with other registers: the answer
  // follows the registers, as without the cache.
  auto code = ending_with({0x48, 0x89, 0x04, 0x11});  // mov %rax,(%rcx,%rdx,1)
  WritingInstructionFinder finder;
  user_regs_struct regs = after_at(kEnd);
  regs.rcx = 0x555555558000;
  for (uint64_t index = 0; index < 64; index += 8) {
    regs.rdx = index;
    EXPECT_EQ(finder.find(code, regs, 0x555555558000 + index, 8), kEnd - 4) << index;
    EXPECT_EQ(finder.find(code, regs, 0x555555558000 + index + 8, 8), 0u) << index;
  }
  // Other bytes at the same pc are decoded afresh.
  auto push = ending_with({0x50});
  EXPECT_EQ(finder.find(push, regs, regs.rsp, 8), kEnd - 1);
  EXPECT_EQ(finder.find(push, regs, regs.rsp, 8), find_writing_instruction(push, regs, regs.rsp, 8));
}

TEST(WillStoreInto, DecodesForwardsWithTheRegistersBefore) {
  // At the store itself: rip-relative to the instruction's own end.
  std::vector<uint8_t> code = {0x89, 0x05, 0x95, 0x2e, 0x00, 0x00, 0x90};
  uint64_t at = kEnd - 6;
  EXPECT_TRUE(will_store_into(code, after_at(at), kEnd + 0x2e95, 4));
  EXPECT_FALSE(will_store_into(code, after_at(at), kEnd + 0x2e99, 4));
  // push %rax stores at rsp - 8.
  user_regs_struct regs = after_at(at);
  EXPECT_TRUE(will_store_into({0x50}, regs, regs.rsp - 8, 8));
  EXPECT_FALSE(will_store_into({0x50}, regs, regs.rsp, 8));
  // A load is not a store.
  EXPECT_FALSE(will_store_into({0x8b, 0x05, 0x95, 0x2e, 0x00, 0x00}, after_at(at), kEnd + 0x2e95, 4));
}

}  // namespace
}  // namespace rrx
