#include "core/vdso.h"

#include <elf.h>
#include <string.h>
#include <sys/syscall.h>

#include <string>
#include <vector>

#include "core/proc_maps.h"
#include "instrument/stub_emitter.h"
#include "preload/syscallbuf_abi.h"

namespace rrx {

namespace {

struct VdsoFunction {
  const char* name;
  int syscall_no;
};

// Both the plain and the __vdso_ names are exported; glibc looks up the
// __vdso_ ones, other runtimes may use either, and they may be aliases.
constexpr VdsoFunction kPatched[] = {
    {"__vdso_clock_gettime", SYS_clock_gettime}, {"clock_gettime", SYS_clock_gettime},
    {"__vdso_gettimeofday", SYS_gettimeofday},   {"gettimeofday", SYS_gettimeofday},
    {"__vdso_time", SYS_time},                   {"time", SYS_time},
    {"__vdso_getcpu", SYS_getcpu},               {"getcpu", SYS_getcpu},
    {"__vdso_clock_getres", SYS_clock_getres},   {"clock_getres", SYS_clock_getres},
};

std::string le32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// mov eax, imm32; syscall; ret
std::string syscall_stub(int number) { return "\xb8" + le32(number) + "\x0f\x05\xc3"; }
constexpr uint64_t kSyscallOffsetInStub = 5;

// mov eax, imm32, then what a patched syscall site's stub runs in place of
// its `syscall` (stub_emitter.h), then ret: the buffering engine may take
// the call, else the `syscall` there runs it, traced.
std::string buffered_stub(int number) {
  std::vector<uint8_t> glue = instrument::site_call_glue(RRX_SITE_ENTRY_SLOT);
  return "\xb8" + le32(number) + std::string(glue.begin(), glue.end()) + "\xc3";
}
constexpr uint64_t kSyscallOffsetInBufferedStub = 5 + instrument::kSiteGlueSyscallAt;

// Finds the dynamic symbol table of the vdso image in `image`.
bool find_dynsym(const std::string& image, const Elf64_Sym** syms, size_t* count,
                 const char** strtab, size_t* strtab_size) {
  if (image.size() < sizeof(Elf64_Ehdr)) return false;
  auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(image.data());
  if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0) return false;
  if (ehdr->e_shoff + uint64_t{ehdr->e_shnum} * sizeof(Elf64_Shdr) > image.size()) return false;
  auto* shdrs = reinterpret_cast<const Elf64_Shdr*>(image.data() + ehdr->e_shoff);
  for (int i = 0; i < ehdr->e_shnum; ++i) {
    if (shdrs[i].sh_type != SHT_DYNSYM || shdrs[i].sh_link >= ehdr->e_shnum) continue;
    const Elf64_Shdr& str = shdrs[shdrs[i].sh_link];
    if (shdrs[i].sh_offset + shdrs[i].sh_size > image.size() ||
        str.sh_offset + str.sh_size > image.size()) {
      return false;
    }
    *syms = reinterpret_cast<const Elf64_Sym*>(image.data() + shdrs[i].sh_offset);
    *count = shdrs[i].sh_size / sizeof(Elf64_Sym);
    *strtab = image.data() + str.sh_offset;
    *strtab_size = str.sh_size;
    return true;
  }
  return false;
}

}  // namespace

bool patch_vdso(Task& task, bool buffering, std::string* error) {
  auto vdso = find_named_mapping(task.tid(), "[vdso]");
  if (!vdso) {
    *error = "no [vdso] mapping";
    return false;
  }
  std::string image(vdso->end - vdso->start, '\0');
  if (!task.read_mem(vdso->start, image.data(), image.size())) {
    *error = "cannot read the vdso";
    return false;
  }
  const Elf64_Sym* syms;
  size_t count;
  const char* strtab;
  size_t strtab_size;
  if (!find_dynsym(image, &syms, &count, &strtab, &strtab_size)) {
    *error = "cannot parse the vdso's symbol table";
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (syms[i].st_name >= strtab_size || syms[i].st_value == 0) continue;
    const char* name = strtab + syms[i].st_name;
    for (const VdsoFunction& fn : kPatched) {
      if (strcmp(name, fn.name) != 0) continue;
      uint64_t addr = vdso->start + syms[i].st_value;
      bool through_engine = buffering && syms[i].st_size >= buffered_stub(0).size();
      std::string stub = through_engine ? buffered_stub(fn.syscall_no) : syscall_stub(fn.syscall_no);
      if (!task.write_mem(addr, stub.data(), stub.size())) {
        *error = std::string("cannot patch vdso function ") + name;
        return false;
      }
      task.syscall_gadget = addr + (through_engine ? kSyscallOffsetInBufferedStub : kSyscallOffsetInStub);
    }
  }
  if (task.syscall_gadget == 0) {
    *error = "the vdso exports no time functions";
    return false;
  }
  return true;
}

}  // namespace rrx
