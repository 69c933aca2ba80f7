// Which instruction made a write that a hardware watchpoint reported. The
// trap comes after the instruction, with the pc already past it, and x86
// code cannot be decoded backwards in general: this tries each length an
// instruction ending at the pc could have and keeps the one that decodes to
// exactly that length and stores into the watched range, computed from the
// registers after it (exact for rip-relative and stack stores, which do
// not move their base register).
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rrx {

// `before` holds the up to 15 bytes of code that end at regs.rip. Returns
// the address of the instruction that wrote to [addr, addr+size), or 0 if
// no single candidate does.
uint64_t find_writing_instruction(const std::vector<uint8_t>& before,
                                  const user_regs_struct& regs, uint64_t addr,
                                  uint64_t size);

// The same, remembering how the bytes before each pc it has seen decode
// (writes() meets the same store over and over): the registers are all it
// looks at again.
class WritingInstructionFinder {
 public:
  WritingInstructionFinder();
  ~WritingInstructionFinder();
  uint64_t find(const std::vector<uint8_t>& before, const user_regs_struct& regs, uint64_t addr,
                uint64_t size);
  struct Candidates;

 private:
  static constexpr size_t kMaxCached = 256;
  std::map<std::string, std::unique_ptr<Candidates>> cache_;  // by pc and bytes
};

// Whether the instruction at regs.rip, whose bytes start `code`, will
// store into [addr, addr+size) (exact: decoded forwards with the registers
// it will run with).
bool will_store_into(const std::vector<uint8_t>& code, const user_regs_struct& regs,
                     uint64_t addr, uint64_t size);

}  // namespace rrx
