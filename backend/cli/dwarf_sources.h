// The source files an ELF file's DWARF line tables name (`rrx sources`).
#pragma once

#include <set>
#include <string>

namespace rrx {

// Adds to *out the absolute, normalized path of every source file (the
// compilation units' files and the headers they include) named in the
// DWARF of `elf_path`, or of its separate debug file found by build id
// under /usr/lib/debug/.build-id/. Returns false when neither has DWARF.
bool dwarf_source_files(const std::string& elf_path, std::set<std::string>* out);

}  // namespace rrx
