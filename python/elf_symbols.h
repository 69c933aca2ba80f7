// Function and object symbols of an ELF file (.symtab, else .dynsym), for
// naming addresses in a replayed process from a script.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rrx {

struct ElfSymbol {
  std::string name;
  uint64_t value = 0;  // link-time address
  uint64_t size = 0;
};

struct ElfSymbols {
  bool position_independent = false;  // ET_DYN: loaded at a bias
  uint64_t entry = 0;                 // link-time entry point
  std::vector<ElfSymbol> symbols;     // defined ones only
};

// Reads `path`'s symbols; nullopt (and *error) if it is not a readable
// 64-bit ELF file.
std::optional<ElfSymbols> read_elf_symbols(const std::string& path, std::string* error);

}  // namespace rrx
