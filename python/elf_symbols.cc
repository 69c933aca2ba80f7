#include "elf_symbols.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace rrx {

namespace {

template <typename T>
bool read_at(const std::string& file, uint64_t offset, T* out) {
  if (offset > file.size() || file.size() - offset < sizeof(T)) return false;
  memcpy(out, file.data() + offset, sizeof(T));
  return true;
}

// Appends the defined function and object symbols of one symbol table.
void add_table(const std::string& file, const Elf64_Shdr& table, const Elf64_Shdr& strings,
               std::vector<ElfSymbol>* out) {
  for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= table.sh_size; off += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    if (!read_at(file, table.sh_offset + off, &sym)) return;
    int type = ELF64_ST_TYPE(sym.st_info);
    if (sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_OBJECT)) continue;
    if (sym.st_name >= strings.sh_size || strings.sh_offset + sym.st_name >= file.size()) continue;
    const char* name = file.data() + strings.sh_offset + sym.st_name;
    size_t max = file.size() - (strings.sh_offset + sym.st_name);
    out->push_back({std::string(name, strnlen(name, max)), sym.st_value, sym.st_size});
  }
}

}  // namespace

std::optional<ElfSymbols> read_elf_symbols(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Elf64_Ehdr eh;
  if (!in.good() && !in.eof()) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  if (!read_at(file, 0, &eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr)) {
    *error = path + " is not a 64-bit ELF file";
    return std::nullopt;
  }
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  for (size_t i = 0; i < sections.size(); ++i) {
    if (!read_at(file, eh.e_shoff + i * sizeof(Elf64_Shdr), &sections[i])) {
      *error = path + " has damaged section headers";
      return std::nullopt;
    }
  }
  ElfSymbols result;
  result.position_independent = eh.e_type == ET_DYN;
  result.entry = eh.e_entry;
  // A stripped file keeps only its dynamic symbols: use those then.
  for (uint32_t wanted : {SHT_SYMTAB, SHT_DYNSYM}) {
    for (const Elf64_Shdr& s : sections) {
      if (s.sh_type == wanted && s.sh_link < sections.size()) {
        add_table(file, s, sections[s.sh_link], &result.symbols);
      }
    }
    if (!result.symbols.empty()) break;
  }
  return result;
}

}  // namespace rrx
