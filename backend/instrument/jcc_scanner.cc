#include "instrument/jcc_scanner.h"

#include <Zydis/Zydis.h>
#include <elf.h>

#include <cstring>

namespace rrx::instrument {
namespace {

// A piece of the file that is loaded: [offset, offset + size) at vaddr.
struct Segment {
  uint64_t offset = 0, vaddr = 0, size = 0;
  bool exec = false;
};

class Image {
 public:
  Image(const uint8_t* file, size_t size) : file_(file), size_(size) {}

  bool parse(std::string* error) {
    if (size_ < sizeof(Elf64_Ehdr) || memcmp(file_, ELFMAG, SELFMAG) != 0 ||
        file_[EI_CLASS] != ELFCLASS64) {
      *error = "not a 64-bit ELF file";
      return false;
    }
    memcpy(&eh_, file_, sizeof eh_);
    if (eh_.e_machine != EM_X86_64) {
      *error = "not an x86-64 ELF file";
      return false;
    }
    for (int i = 0; i < eh_.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (!read_at(eh_.e_phoff + static_cast<uint64_t>(i) * eh_.e_phentsize, &ph)) break;
      if (ph.p_type != PT_LOAD || ph.p_offset > size_) continue;
      uint64_t filesz = std::min<uint64_t>(ph.p_filesz, size_ - ph.p_offset);
      segments_.push_back({ph.p_offset, ph.p_vaddr, filesz, (ph.p_flags & PF_X) != 0});
    }
    return true;
  }

  template <typename T>
  bool read_at(uint64_t offset, T* out) const {
    if (offset > size_ || size_ - offset < sizeof *out) return false;
    memcpy(out, file_ + offset, sizeof *out);
    return true;
  }

  // File offset of link-time address `vaddr`, -1 if not loaded from the file.
  int64_t offset_of(uint64_t vaddr, bool exec_only) const {
    for (const Segment& s : segments_) {
      if ((!exec_only || s.exec) && vaddr >= s.vaddr && vaddr - s.vaddr < s.size) {
        return static_cast<int64_t>(vaddr - s.vaddr + s.offset);
      }
    }
    return -1;
  }
  uint64_t vaddr_of(uint64_t offset) const {
    for (const Segment& s : segments_) {
      if (offset >= s.offset && offset - s.offset < s.size) return offset - s.offset + s.vaddr;
    }
    return 0;
  }

  struct Section {
    Elf64_Shdr header;
    std::string name;
  };
  std::vector<Section> sections() const {
    std::vector<Section> out;
    Elf64_Shdr names;
    if (eh_.e_shoff == 0 || eh_.e_shstrndx >= eh_.e_shnum ||
        !read_at(eh_.e_shoff + uint64_t{eh_.e_shstrndx} * eh_.e_shentsize, &names)) {
      return out;
    }
    for (int i = 0; i < eh_.e_shnum; ++i) {
      Section s;
      if (!read_at(eh_.e_shoff + static_cast<uint64_t>(i) * eh_.e_shentsize, &s.header)) break;
      uint64_t at = names.sh_offset + s.header.sh_name;
      if (at < size_) {
        const char* p = reinterpret_cast<const char*>(file_ + at);
        s.name.assign(p, strnlen(p, size_ - at));
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  const std::vector<Segment>& segments() const { return segments_; }
  const uint8_t* file() const { return file_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* file_;
  size_t size_;
  Elf64_Ehdr eh_{};
  std::vector<Segment> segments_;
};

// The flags a condition code reads (0 O, 2 B, 4 E, 6 BE, 8 S, a P, c L, e LE).
uint32_t flags_read_by(uint8_t cond) {
  switch (cond >> 1) {
    case 0: return ZYDIS_CPUFLAG_OF;
    case 1: return ZYDIS_CPUFLAG_CF;
    case 2: return ZYDIS_CPUFLAG_ZF;
    case 3: return ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_ZF;
    case 4: return ZYDIS_CPUFLAG_SF;
    case 5: return ZYDIS_CPUFLAG_PF;
    case 6: return ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;
    default: return ZYDIS_CPUFLAG_ZF | ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;
  }
}

// How far after a `syscall` instructions stay where they are.
constexpr uint64_t kSyscallCheckBytes = 12;

// What the site search remembers of an instruction.
struct Insn {
  uint64_t offset = 0;
  uint8_t length = 0;
  bool movable = false;      // may be copied into a stub
  // It is among the bytes right after a `syscall` that rrx's preload
  // library matches (`syscall; [mov %eax,%edx;] cmp $-409x,%rax`).
  bool after_syscall = false;
  uint8_t disp_at = 0;       // rip-relative disp32 offset in it, or 0
  uint32_t flags_set = 0;    // flags it leaves defined
  uint32_t flags_tested = 0;
};

// Instructions that must run where they are, or that mark a place
// someone may jump to (padding, endbr), or that rrx itself traps on.
bool movable(const ZydisDecodedInstruction& in) {
  switch (in.meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_NOP:
    case ZYDIS_CATEGORY_WIDENOP:
    case ZYDIS_CATEGORY_SYSTEM:
      return false;
    default:
      break;
  }
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_ENDBR32:
    case ZYDIS_MNEMONIC_ENDBR64:
    case ZYDIS_MNEMONIC_CPUID:
    case ZYDIS_MNEMONIC_RDTSC:
    case ZYDIS_MNEMONIC_RDTSCP:
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_XBEGIN:
    case ZYDIS_MNEMONIC_XABORT:
    case ZYDIS_MNEMONIC_XEND:
    case ZYDIS_MNEMONIC_SYSENTER:
      return false;
    default:
      break;
  }
  if (in.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) return false;
  for (int i = 0; i < 2; ++i) {
    if (in.raw.imm[i].is_relative) return false;
  }
  return true;
}

bool rip_relative(const ZydisDecodedInstruction& in) {
  return (in.attributes & ZYDIS_ATTRIB_HAS_MODRM) && in.raw.modrm.mod == 0 && in.raw.modrm.rm == 5;
}

struct Candidate {
  JccSite site;
  uint64_t jcc_offset = 0;
  bool may_drop_setter = false;  // rel32 with a moved setter: k = 0 also works
};

class Scanner {
 public:
  Scanner(const Image& image, ScanResult* out)
      : image_(image), out_(out), targets_(image.size(), 0) {
    ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  }

  void run() {
    for (const auto& [lo, hi] : code_ranges()) sweep(lo, hi);
    mark_symbols();
    for (Candidate& c : candidates_) settle(c);
  }

 private:
  // Executable sections, or executable segments when there are no section
  // headers.
  std::vector<std::pair<uint64_t, uint64_t>> code_ranges() const {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& s : image_.sections()) {
      const Elf64_Shdr& h = s.header;
      if (h.sh_type == SHT_PROGBITS && (h.sh_flags & SHF_EXECINSTR) && h.sh_offset < image_.size()) {
        ranges.emplace_back(h.sh_offset, std::min<uint64_t>(h.sh_offset + h.sh_size, image_.size()));
      }
    }
    if (!ranges.empty()) return ranges;
    for (const Segment& s : image_.segments()) {
      if (s.exec) ranges.emplace_back(s.offset, s.offset + s.size);
    }
    return ranges;
  }

  void mark(uint64_t vaddr) {
    int64_t off = image_.offset_of(vaddr, true);
    if (off >= 0) targets_[static_cast<size_t>(off)] = 1;
  }

  // Entries of a table at `vaddr` whose values (relative to it, or
  // absolute) point into code: jump tables. Reading a non-table this way
  // only marks a few extra targets, which costs patches, never safety.
  void mark_table(uint64_t vaddr, bool absolute) {
    int64_t at = image_.offset_of(vaddr, false);
    if (at < 0) return;
    for (int i = 0; i < 4096; ++i) {
      uint64_t target;
      if (absolute) {
        uint64_t entry;
        if (!image_.read_at(static_cast<uint64_t>(at) + 8 * i, &entry)) return;
        target = entry;
      } else {
        int32_t entry;
        if (!image_.read_at(static_cast<uint64_t>(at) + 4 * i, &entry)) return;
        target = vaddr + static_cast<int64_t>(entry);
      }
      if (image_.offset_of(target, true) < 0) return;
      mark(target);
    }
  }

  void mark_symbols() {
    for (const auto& s : image_.sections()) {
      const Elf64_Shdr& h = s.header;
      if ((h.sh_type != SHT_SYMTAB && h.sh_type != SHT_DYNSYM) || h.sh_entsize != sizeof(Elf64_Sym)) {
        continue;
      }
      for (uint64_t i = 0; i < h.sh_size / sizeof(Elf64_Sym); ++i) {
        Elf64_Sym sym;
        if (!image_.read_at(h.sh_offset + i * sizeof sym, &sym)) break;
        int type = ELF64_ST_TYPE(sym.st_info);
        if ((type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE) && sym.st_value) {
          mark(sym.st_value);
        }
      }
    }
  }

  void sweep(uint64_t lo, uint64_t hi) {
    Insn ring[kMaxMoved];
    int have = 0;  // valid entries at the end of ring
    uint64_t syscall_end = 0;  // end of the last `syscall`, 0 before any
    auto near_syscall = [&](uint64_t at) { return syscall_end && at < syscall_end + kSyscallCheckBytes; };
    uint64_t off = lo;
    const uint8_t* file = image_.file();
    while (off < hi) {
      ZydisDecodedInstruction in;
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder_, nullptr, file + off, hi - off, &in))) {
        ++off;
        have = 0;
        continue;
      }
      uint64_t vaddr = image_.vaddr_of(off);
      uint64_t next = vaddr + in.length;
      for (int i = 0; i < 2; ++i) {
        if (in.raw.imm[i].is_relative) mark(next + static_cast<uint64_t>(in.raw.imm[i].value.s));
      }
      uint8_t disp_at = 0;
      if (rip_relative(in)) {
        uint64_t ref = next + static_cast<uint64_t>(in.raw.disp.value);
        if (image_.offset_of(ref, true) >= 0) {
          mark(ref);
        } else if (in.mnemonic == ZYDIS_MNEMONIC_LEA) {
          mark_table(ref, false);
        }
        disp_at = in.raw.disp.offset;
      } else if ((in.attributes & ZYDIS_ATTRIB_HAS_SIB) && in.raw.modrm.mod == 0 &&
                 in.raw.sib.base == 5 && in.raw.sib.scale == 3) {
        mark_table(static_cast<uint64_t>(static_cast<int64_t>(in.raw.disp.value)), true);
      }
      if (is_jcc(file + off, in)) {
        consider(off, in, ring, have, near_syscall(off));
      }
      Insn me;
      me.offset = off;
      me.length = in.length;
      me.movable = movable(in) && (!rip_relative(in) || in.raw.disp.size == 32);
      me.after_syscall = near_syscall(off);
      me.disp_at = disp_at;
      if (in.cpu_flags) {
        me.flags_set = (in.cpu_flags->modified | in.cpu_flags->set_0 | in.cpu_flags->set_1) &
                       ~in.cpu_flags->undefined;
        me.flags_tested = in.cpu_flags->tested;
      }
      for (int i = 0; i + 1 < kMaxMoved; ++i) ring[i] = ring[i + 1];
      ring[kMaxMoved - 1] = me;
      have = std::min(have + 1, kMaxMoved);
      if (in.mnemonic == ZYDIS_MNEMONIC_SYSCALL) syscall_end = off + in.length;
      off += in.length;
    }
  }

  static bool is_jcc(const uint8_t* p, const ZydisDecodedInstruction& in) {
    if (in.meta.category != ZYDIS_CATEGORY_COND_BR) return false;
    return (in.length == 2 && p[0] >= 0x70 && p[0] <= 0x7f) ||
           (in.length == 6 && p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f);
  }

  void consider(uint64_t off, const ZydisDecodedInstruction& in, const Insn* ring, int have,
                bool after_syscall) {
    const uint8_t* p = image_.file() + off;
    bool is_short = in.length == 2;
    (is_short ? out_->stats.rel8_found : out_->stats.rel32_found)++;
    Candidate c;
    c.jcc_offset = off;
    c.site.short_jcc = is_short;
    c.site.cond = (is_short ? p[0] : p[1]) & 0x0f;
    uint64_t taken_vaddr = image_.vaddr_of(off) + in.length + static_cast<uint64_t>(in.raw.imm[0].value.s);
    c.site.taken = image_.offset_of(taken_vaddr, true);
    if (c.site.taken < 0) {
      out_->stats.skipped_unmovable++;
      return;
    }
    // The instructions to move: the fewest, nearest first, that make room.
    int k = 0;
    uint64_t start = off;
    uint32_t room = in.length;
    const Insn* last = have ? &ring[kMaxMoved - 1] : nullptr;
    bool setter = last && last->movable && last->offset + last->length == off &&
                  (last->flags_set & flags_read_by(c.site.cond)) == flags_read_by(c.site.cond) &&
                  last->flags_tested == 0 && !last->after_syscall && !after_syscall;
    if (!is_short) {
      if (after_syscall && !setter) {
        out_->stats.skipped_syscall++;
        return;
      }
      k = setter ? 1 : 0;
      c.may_drop_setter = setter && !after_syscall;
    } else {
      while (room < 5) {
        if (k == have || k == kMaxMoved) break;
        const Insn& prev = ring[kMaxMoved - 1 - k];
        if (!prev.movable || prev.offset + prev.length != start || prev.after_syscall) break;
        start = prev.offset;
        room += prev.length;
        ++k;
      }
      if (room < 5 || room > kMaxSiteBytes) {
        bool blocked_by_syscall = k < have && ring[kMaxMoved - 1 - k].after_syscall;
        (blocked_by_syscall ? out_->stats.skipped_syscall : out_->stats.skipped_unmovable)++;
        return;
      }
    }
    for (int i = 0; i < k; ++i) {
      const Insn& m = ring[kMaxMoved - k + i];
      c.site.moved_len[i] = m.length;
      c.site.moved_disp_at[i] = m.disp_at;
      if (i == 0) start = m.offset;
    }
    c.site.start = k ? start : off;
    c.site.moved = static_cast<uint8_t>(k);
    c.site.length = static_cast<uint8_t>(off + in.length - c.site.start);
    c.site.form = static_cast<uint8_t>(k && setter ? StubForm::kCountBeforeSetter : StubForm::kFlagFree);
    candidates_.push_back(c);
  }

  bool target_inside(uint64_t start, uint64_t end) const {
    for (uint64_t at = start + 1; at < end; ++at) {
      if (targets_[at]) return true;
    }
    return false;
  }

  void settle(Candidate& c) {
    JccSite& s = c.site;
    if (target_inside(s.start, s.start + s.length)) {
      if (!c.may_drop_setter || target_inside(c.jcc_offset, c.jcc_offset + 6)) {
        out_->stats.skipped_target++;
        return;
      }
      s.start = c.jcc_offset;  // the rel32 jcc alone
      s.length = 6;
      s.moved = 0;
      s.form = static_cast<uint8_t>(StubForm::kFlagFree);
      memset(s.moved_len, 0, sizeof s.moved_len);
      memset(s.moved_disp_at, 0, sizeof s.moved_disp_at);
    }
    (s.short_jcc ? out_->stats.rel8_patchable : out_->stats.rel32_patchable)++;
    out_->sites.push_back(s);
  }

  const Image& image_;
  ScanResult* out_;
  ZydisDecoder decoder_;
  std::vector<uint8_t> targets_;  // per file byte: someone may jump here
  std::vector<Candidate> candidates_;
};

}  // namespace

bool scan_elf(const uint8_t* file, size_t size, ScanResult* out, std::string* error) {
  *out = ScanResult();
  Image image(file, size);
  if (!image.parse(error)) return false;
  for (const auto& s : image.sections()) {
    if (s.name == ".note.rrx.ticks") {
      out->statically_instrumented = true;
      return true;
    }
  }
  Scanner(image, out).run();
  return true;
}

std::string elf_build_id(const uint8_t* file, size_t size) {
  Image image(file, size);
  std::string error;
  if (!image.parse(&error)) return "";
  for (const auto& s : image.sections()) {
    if (s.header.sh_type != SHT_NOTE) continue;
    uint64_t at = s.header.sh_offset, end = at + s.header.sh_size;
    while (at + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr n;
      if (!image.read_at(at, &n)) break;
      uint64_t name_at = at + sizeof n, desc_at = name_at + ((n.n_namesz + 3) & ~3u);
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && desc_at + n.n_descsz <= size &&
          memcmp(file + name_at, "GNU", 4) == 0) {
        static const char kHex[] = "0123456789abcdef";
        std::string hex;
        for (uint32_t i = 0; i < n.n_descsz; ++i) {
          hex += kHex[file[desc_at + i] >> 4];
          hex += kHex[file[desc_at + i] & 15];
        }
        return hex;
      }
      at = desc_at + ((n.n_descsz + 3) & ~3u);
    }
  }
  return "";
}

}  // namespace rrx::instrument
