// The x86-64 register set as the debugger sees it: gdb's register numbers
// and sizes, the target description XML that announces them, and the
// conversion between a RegisterFile and the bytes of g/p packets. One table
// drives all three, so `g` always matches target.xml.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gdbserver/debug_target.h"

namespace rrx::amd64 {

// Register numbers the stop replies expedite.
constexpr int kRbp = 6;
constexpr int kRsp = 7;
constexpr int kRip = 16;

// Number of registers: 0..kRegisterCount-1 in the order of the g packet.
int register_count();
// Size in bytes of register `regno`; 0 if there is no such register.
size_t register_size(int regno);

// The register's bytes (target little-endian) taken from / stored into
// `regs`. Both return false for an unknown register.
bool get_register(const RegisterFile& regs, int regno, std::vector<uint8_t>* out);
// Whether gdb's register `regno` is one of RegisterFile::gpr (the rest
// need the x87/SSE/AVX state, which costs more ptrace calls to read).
bool is_general_register(int regno);
bool set_register(RegisterFile* regs, int regno, const uint8_t* bytes);

// All registers back to back, as the g packet carries them.
std::vector<uint8_t> all_registers(const RegisterFile& regs);

// The qXfer:features:read documents: "target.xml" and the files it
// includes. Empty optional for an unknown name.
std::optional<std::string> target_description(std::string_view annex);

}  // namespace rrx::amd64
