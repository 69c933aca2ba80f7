// Comparing and describing register files.
#pragma once

#include <string>

#include "trace/event.h"

namespace rrx {

// "" if the registers a faithful replay must reproduce are equal, else a
// short description of the first difference ("rip 0x401000 vs 0x401004").
std::string diff_registers(const Registers& expected, const Registers& actual);

// Syscall results in [-4095, -1] are errors.
inline bool is_syscall_error(uint64_t rax) {
  return static_cast<int64_t>(rax) < 0 && static_cast<int64_t>(rax) >= -4095;
}

}  // namespace rrx
