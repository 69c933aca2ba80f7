#include "cli/dwarf_sources.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "trace/file_util.h"

namespace rrx {

namespace {

constexpr char kDebugRoot[] = "/usr/lib/debug/.build-id/";

// Where Debian's -dbgsym packages put the DWARF of a stripped file.
std::string separate_debug_file(int fd) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (!elf) return "";
  const void* id = nullptr;
  ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
  std::string path;
  if (len > 1) {
    static const char kHex[] = "0123456789abcdef";
    const auto* bytes = static_cast<const unsigned char*>(id);
    std::string hex;
    for (ssize_t i = 0; i < len; ++i) {
      hex += kHex[bytes[i] >> 4];
      hex += kHex[bytes[i] & 15];
    }
    path = kDebugRoot + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
  }
  elf_end(elf);
  return path;
}

std::string comp_dir_of(Dwarf_Die* cu) {
  Dwarf_Attribute attr;
  const char* dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
  return dir ? dir : "";
}

bool collect(Dwarf* dwarf, std::set<std::string>* out) {
  bool any = false;
  Dwarf_Off offset = 0, next;
  size_t header_size;
  while (dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu;
    Dwarf_Files* files;
    size_t count;
    if (dwarf_offdie(dwarf, offset + header_size, &cu) &&
        dwarf_getsrcfiles(&cu, &files, &count) == 0) {
      std::string comp_dir = comp_dir_of(&cu);
      for (size_t i = 0; i < count; ++i) {
        const char* name = dwarf_filesrc(files, i, nullptr, nullptr);
        if (!name || name[0] == '\0' || name[0] == '<' || std::string(name) == "???") continue;
        std::filesystem::path path(name);
        if (path.is_relative()) path = std::filesystem::path(comp_dir) / path;
        out->insert(path.lexically_normal().string());
        any = true;
      }
    }
    offset = next;
  }
  return any;
}

bool collect_from(const std::string& path, std::set<std::string>* out, std::string* debug_file) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  Dwarf* dwarf = dwarf_begin(fd.get(), DWARF_C_READ);
  bool found = dwarf && collect(dwarf, out);
  if (!found && debug_file) *debug_file = separate_debug_file(fd.get());
  if (dwarf) dwarf_end(dwarf);
  return found;
}

}  // namespace

bool dwarf_source_files(const std::string& elf_path, std::set<std::string>* out) {
  elf_version(EV_CURRENT);
  std::string debug_file;
  if (collect_from(elf_path, out, &debug_file)) return true;
  return !debug_file.empty() && collect_from(debug_file, out, nullptr);
}

}  // namespace rrx
