#include "instrument/branch_sites.h"

#include <Zydis/Zydis.h>
#include <elf.h>

#include <algorithm>
#include <cstring>

#include "instrument/plain_insn.h"
#include "ticks/tick_page.h"

#ifndef RRX_TICK_MARKER_SECTION
#define RRX_TICK_MARKER_SECTION ".note.rrx.ticks"
#endif

#ifndef SHT_RELR
#define SHT_RELR 19
#endif

namespace rrx::instrument {
namespace {

// A PT_LOAD's file-backed part.
struct Load {
  uint64_t offset, vaddr, size;
  bool exec;
  size_t stats_index;  // into ScanResult::segments if exec
};

// What pass 2 needs of one decoded instruction (or of one undecodable byte).
struct Insn {
  uint32_t offset;
  uint8_t length;
  uint8_t riprel_at;  // see RelocatedInsn
  uint8_t cond;       // jcc only
  uint16_t flags;
};

enum : uint16_t {
  kPlain = 1,          // may be moved into a stub
  kFullSetter = 2,     // writes every status flag, reads none
  kSyscall = 4,        // `syscall`
  kJcc = 8,            // a 7x / 0f 8x conditional branch
  kJccRel32 = 16,
  kRipRelBad = 32,     // rip-relative operand we refuse to fix up
  kJccOdd = 64,        // jcc with an operand-size prefix (AMD truncates)
  kInvalid = 128,      // undecodable byte: a break in the sweep
  kMovSigreturn = 256, // mov $15 (SYS_rt_sigreturn), %eax or %rax
  kCpuid = 512,        // `cpuid`
  kFiller = 1024,      // nop or endbr64: may be copied into a chained stub's gap
  kJmpRel = 2048,      // jmp rel8 / rel32 (eb, e9; no prefix)
  kRet = 4096,         // ret (c3, c2 iw; prefixes copied as they are)
  kLoopInsn = 8192,    // with kJcc: loop, loope, loopne or jrcxz (no prefix)
};

class Scanner {
 public:
  Scanner(const uint8_t* file, size_t size, ScanResult* out)
      : file_(file), size_(size), out_(out) {}

  bool run(std::string* error);
  // Just the PT_NOTE segments' notes (build-id, marker).
  void notes_only() {
    Elf64_Ehdr eh;
    if (!read(0, &eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_phentsize != sizeof(Elf64_Phdr))
      return;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (!read(eh.e_phoff + uint64_t{i} * sizeof ph, &ph)) return;
      if (ph.p_type == PT_NOTE) parse_notes(ph.p_offset, ph.p_filesz);
    }
  }

 private:
  template <typename T>
  bool read(uint64_t off, T* v) const {
    if (off > size_ || size_ - off < sizeof(T)) return false;
    memcpy(v, file_ + off, sizeof(T));
    return true;
  }
  const Load* load_of_vaddr(uint64_t v) const {
    for (const Load& l : loads_)
      if (v >= l.vaddr && v - l.vaddr < l.size) return &l;
    return nullptr;
  }
  // Records `v` as a possible target if it lies in loaded executable bytes.
  void add_target_vaddr(uint64_t v) {
    const Load* l = load_of_vaddr(v);
    if (l && l->exec) targets_.push_back(v - l->vaddr + l->offset);
  }
  void parse_notes(uint64_t off, uint64_t size);
  void collect_symbols_and_relocs();
  void collect_data_pointers();
  void collect_landing_pads();
  void parse_lsda(uint64_t lsda_vaddr, uint64_t func_vaddr);
  void sweep(const Load& seg, uint64_t begin, uint64_t end);
  void jump_tables();
  void make_sites();
  void make_syscall_sites();
  void make_jcc_sites();
  void chain_sites();
  // Records in `s` the k instructions before insns_[center] and the
  // `after` ones after it as the site's relocated instructions.
  void set_relocated(BranchSite* s, size_t center, size_t k, size_t after) const {
    s->num_relocated = static_cast<uint8_t>(k);
    s->num_after = static_cast<uint8_t>(after);
    for (size_t i = 0; i < k + after; ++i) {
      const Insn& p = insns_[i < k ? center - k + i : center + 1 + (i - k)];
      s->relocated[i] = {p.offset, p.length, p.riprel_at};
    }
  }
  bool target_inside(uint64_t s, uint64_t e) const {  // in (s, e)
    auto it = std::upper_bound(targets_.begin(), targets_.end(), s);
    return it != targets_.end() && *it < e;
  }
  bool is_target(uint64_t at) const {
    return std::binary_search(targets_.begin(), targets_.end(), at);
  }
  // Whether [lo, hi) touches a syscall site's range.
  bool in_syscall_site(uint64_t lo, uint64_t hi) const {
    auto it = std::upper_bound(syscall_ranges_.begin(), syscall_ranges_.end(),
                               std::pair<uint64_t, uint64_t>{lo, UINT64_MAX});
    if (it != syscall_ranges_.begin() && std::prev(it)->second > lo) return true;
    return it != syscall_ranges_.end() && it->first < hi;
  }
  // Whether instruction p may be moved into a stub, p ending at
  // (backwards) or starting at (forwards) `joint`; else why not in *r.
  bool usable(const Insn& p, bool backwards, uint64_t joint, SkipReason* r) const {
    bool contiguous = backwards ? uint64_t{p.offset} + p.length == joint : p.offset == joint;
    if (p.flags & kInvalid || !contiguous || !(p.flags & kPlain) ||
        in_syscall_site(p.offset, uint64_t{p.offset} + p.length)) {
      *r = SkipReason::kUnrelocatable;
      return false;
    }
    if (p.flags & kRipRelBad) { *r = SkipReason::kRipRel; return false; }
    return true;
  }

  const uint8_t* file_;
  size_t size_;
  ScanResult* out_;
  Elf64_Ehdr eh_{};
  std::vector<Load> loads_;
  std::vector<Elf64_Shdr> shdrs_;
  std::string shstr_;  // section name table
  std::vector<uint64_t> targets_;       // file offsets (exec frames)
  std::vector<uint64_t> table_bases_;   // vaddrs of rip-relative lea into data
  // Decoded instructions per code range, in order; ranges are separated by
  // an kInvalid entry so that no walk crosses them.
  std::vector<Insn> insns_;
  std::vector<size_t> insn_load_;  // parallel: index into loads_ per range
  struct JccRef { size_t insn; size_t load; int64_t taken_vaddr; };
  std::vector<JccRef> jccs_;
  struct SyscallRef { size_t insn; size_t load; };
  std::vector<SyscallRef> syscalls_;  // `syscall` and `cpuid`: engine sites
  std::vector<std::pair<uint64_t, uint64_t>> syscall_ranges_;  // [S, E), sorted
  ZydisDecoder decoder_{};
};

bool Scanner::run(std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return false;
  };
  if (size_ < sizeof(Elf64_Ehdr) || memcmp(file_, ELFMAG, SELFMAG) != 0 ||
      file_[EI_CLASS] != ELFCLASS64 || file_[EI_DATA] != ELFDATA2LSB)
    return fail("not a little-endian ELF64 file");
  memcpy(&eh_, file_, sizeof eh_);
  if (eh_.e_machine != EM_X86_64) return fail("not an x86-64 ELF file");
  if (eh_.e_type != ET_EXEC && eh_.e_type != ET_DYN)
    return fail("not an executable or shared object");
  if (eh_.e_phentsize != sizeof(Elf64_Phdr) && eh_.e_phnum != 0)
    return fail("unexpected program header size");

  for (unsigned i = 0; i < eh_.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read(eh_.e_phoff + uint64_t{i} * sizeof ph, &ph))
      return fail("truncated program headers");
    if (ph.p_type == PT_NOTE) parse_notes(ph.p_offset, ph.p_filesz);
    if (ph.p_type != PT_LOAD || ph.p_offset >= size_) continue;
    Load l{ph.p_offset, ph.p_vaddr,
           std::min<uint64_t>(ph.p_filesz, size_ - ph.p_offset),
           (ph.p_flags & PF_X) != 0, 0};
    if (l.exec) {
      l.stats_index = out_->segments.size();
      SegmentStats s;
      s.file_offset = l.offset;
      s.file_size = l.size;
      s.vaddr = l.vaddr;
      out_->segments.push_back(s);
    }
    loads_.push_back(l);
  }

  // Section headers are optional; without them the whole executable segment
  // is swept (there is no better guess of where code is).
  if (eh_.e_shoff && eh_.e_shentsize == sizeof(Elf64_Shdr)) {
    for (unsigned i = 0; i < eh_.e_shnum; ++i) {
      Elf64_Shdr sh;
      if (!read(eh_.e_shoff + uint64_t{i} * sizeof sh, &sh)) break;
      shdrs_.push_back(sh);
    }
    if (eh_.e_shstrndx < shdrs_.size()) {
      const Elf64_Shdr& s = shdrs_[eh_.e_shstrndx];
      if (s.sh_offset <= size_ && s.sh_size <= size_ - s.sh_offset)
        shstr_.assign(reinterpret_cast<const char*>(file_ + s.sh_offset),
                      s.sh_size);
    }
  }
  for (const Elf64_Shdr& sh : shdrs_) {
    if (sh.sh_name < shstr_.size() &&
        strcmp(shstr_.c_str() + sh.sh_name, RRX_TICK_MARKER_SECTION) == 0)
      out_->statically_instrumented = true;
    if (sh.sh_type == SHT_NOTE) parse_notes(sh.sh_offset, sh.sh_size);
  }

  ZydisDecoderInit(&decoder_, ZYDIS_MACHINE_MODE_LONG_64,
                   ZYDIS_STACK_WIDTH_64);

  // Code ranges: executable sections inside executable segments.
  for (size_t li = 0; li < loads_.size(); ++li) {
    const Load& l = loads_[li];
    if (!l.exec) continue;
    bool any_section = false;
    for (const Elf64_Shdr& sh : shdrs_) {
      if (!(sh.sh_flags & SHF_EXECINSTR) || !(sh.sh_flags & SHF_ALLOC) ||
          sh.sh_type == SHT_NOBITS)
        continue;
      uint64_t b = std::max<uint64_t>(sh.sh_offset, l.offset);
      uint64_t e = std::min<uint64_t>(sh.sh_offset + sh.sh_size,
                                      l.offset + l.size);
      if (b >= e) continue;
      any_section = true;
      sweep(l, b, e);
    }
    if (!any_section && shdrs_.empty()) sweep(l, l.offset, l.offset + l.size);
  }

  collect_symbols_and_relocs();
  collect_data_pointers();
  collect_landing_pads();
  jump_tables();
  std::sort(targets_.begin(), targets_.end());
  targets_.erase(std::unique(targets_.begin(), targets_.end()),
                 targets_.end());
  out_->possible_targets = targets_.size();
  make_sites();
  return true;
}

void Scanner::parse_notes(uint64_t off, uint64_t size) {
  if (off > size_ || size > size_ - off) return;
  uint64_t p = off, end = off + size;
  while (end - p >= 12) {
    uint32_t namesz = 0, descsz = 0, type = 0;
    read(p, &namesz);
    read(p + 4, &descsz);
    read(p + 8, &type);
    uint64_t name = p + 12;
    uint64_t desc = name + ((uint64_t{namesz} + 3) & ~uint64_t{3});
    uint64_t next = desc + ((uint64_t{descsz} + 3) & ~uint64_t{3});
    if (desc > end || next > end || desc + descsz > end) return;
    auto named = [&](const char* n) {
      return namesz == strlen(n) + 1 && memcmp(file_ + name, n, namesz) == 0;
    };
    if (type == NT_GNU_BUILD_ID && named("GNU") && out_->build_id.empty())
      out_->build_id.assign(reinterpret_cast<const char*>(file_ + desc),
                            descsz);
    if (type == 1 && named("rrx")) out_->statically_instrumented = true;
    p = next;
  }
}

// Linear sweep of [begin, end) (file offsets) of executable load `seg`.
void Scanner::sweep(const Load& seg, uint64_t begin, uint64_t end) {
  const bool absolute_code = eh_.e_type == ET_EXEC;
  const size_t li = static_cast<size_t>(&seg - loads_.data());
  constexpr ZydisAccessedFlagsMask kStatus =
      ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF |
      ZYDIS_CPUFLAG_ZF | ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;
  insns_.push_back({static_cast<uint32_t>(begin), 0, 0, 0, kInvalid});
  ZydisDecoderContext ctx;
  ZydisDecodedInstruction in;
  for (uint64_t off = begin; off < end;) {
    const uint64_t ip = off - seg.offset + seg.vaddr;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(
            &decoder_, &ctx, file_ + off, end - off, &in))) {
      insns_.push_back({static_cast<uint32_t>(off), 1, 0, 0, kInvalid});
      ++off;
      continue;
    }
    Insn rec{static_cast<uint32_t>(off), in.length, 0, 0, 0};
    if (in.mnemonic == ZYDIS_MNEMONIC_SYSCALL || in.mnemonic == ZYDIS_MNEMONIC_CPUID) {
      rec.flags |= in.mnemonic == ZYDIS_MNEMONIC_SYSCALL ? kSyscall : kCpuid;
      syscalls_.push_back({insns_.size(), li});
    }
    // mov $15 into %eax or %rax: b8+0 imm32, REX.W b8+0 imm64, or
    // (REX.W) c7 /0 with a register operand.
    if (in.mnemonic == ZYDIS_MNEMONIC_MOV && in.operand_width >= 32 && !in.raw.rex.B &&
        in.raw.imm[0].size && in.raw.imm[0].value.u == 15 &&
        (in.opcode == 0xb8 ||
         (in.opcode == 0xc7 && in.raw.modrm.mod == 3 && in.raw.modrm.rm == 0)))
      rec.flags |= kMovSigreturn;
    const uint64_t next = ip + in.length;

    // Direct branch targets (jmp, jcc, call, loop, jrcxz, xbegin).
    for (int i = 0; i < 2; ++i)
      if (in.raw.imm[i].size && in.raw.imm[i].is_relative)
        add_target_vaddr(next + static_cast<uint64_t>(in.raw.imm[i].value.s));
    // Rip-relative memory operand (mod 00, r/m 101: disp32 off rip).
    bool riprel = (in.attributes & ZYDIS_ATTRIB_HAS_MODRM) &&
                  in.raw.modrm.mod == 0 && in.raw.modrm.rm == 5 &&
                  !(in.attributes & ZYDIS_ATTRIB_HAS_SIB);
    if (riprel) {
      if (in.address_width != 64 || in.raw.disp.size != 32 ||
          in.raw.disp.offset == 0) {
        rec.flags |= kRipRelBad;
      } else {
        rec.riprel_at = in.raw.disp.offset;
        uint64_t a = next + static_cast<uint64_t>(in.raw.disp.value);
        const Load* l = load_of_vaddr(a);
        if (l && l->exec)
          targets_.push_back(a - l->vaddr + l->offset);
        else if (l && in.mnemonic == ZYDIS_MNEMONIC_LEA)
          table_bases_.push_back(a);
      }
    } else if (absolute_code) {
      // Non-PIE code names code by absolute immediates and displacements.
      if (in.raw.disp.size >= 32)
        add_target_vaddr(static_cast<uint64_t>(in.raw.disp.value));
      for (int i = 0; i < 2; ++i)
        if (in.raw.imm[i].size >= 32 && !in.raw.imm[i].is_relative)
          add_target_vaddr(in.raw.imm[i].value.u);
    }

    const bool plain = is_plain_insn(in);
    if (in.mnemonic == ZYDIS_MNEMONIC_NOP || in.mnemonic == ZYDIS_MNEMONIC_ENDBR64)
      rec.flags |= kFiller;
    if (in.mnemonic == ZYDIS_MNEMONIC_JMP && in.raw.prefix_count == 0 &&
        (in.opcode == 0xeb || in.opcode == 0xe9) && in.raw.imm[0].is_relative)
      rec.flags |= kJmpRel;
    if (in.mnemonic == ZYDIS_MNEMONIC_RET && (in.opcode == 0xc3 || in.opcode == 0xc2))
      rec.flags |= kRet;
    if (plain) rec.flags |= kPlain;
    if (plain && in.cpu_flags) {
      const ZydisAccessedFlags& f = *in.cpu_flags;
      ZydisAccessedFlagsMask written =
          f.modified | f.set_0 | f.set_1 | f.undefined;
      if ((written & kStatus) == kStatus && f.tested == 0)
        rec.flags |= kFullSetter;
    }

    // A conditional branch proper: 7x rel8 or 0f 8x rel32 (not jrcxz/loop).
    bool jcc = false;
    if (in.meta.category == ZYDIS_CATEGORY_COND_BR && in.raw.imm[0].is_relative) {
      if (in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
          (in.opcode & 0xf0) == 0x70 && in.raw.imm[0].size == 8)
        jcc = true;
      else if (in.opcode_map == ZYDIS_OPCODE_MAP_0F &&
               (in.opcode & 0xf0) == 0x80 && in.raw.imm[0].size == 32)
        jcc = true;
    }
    // loop/loope/loopne/jrcxz branch too (a PMU counts them as conditional
    // branches): a loop of them alone would count nothing.
    const bool loop = (in.mnemonic == ZYDIS_MNEMONIC_LOOP || in.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
                       in.mnemonic == ZYDIS_MNEMONIC_LOOPNE || in.mnemonic == ZYDIS_MNEMONIC_JRCXZ) &&
                      in.raw.prefix_count == 0 && in.length == 2 && in.raw.imm[0].is_relative;
    if (loop) {
      jcc = true;
      rec.flags |= kLoopInsn;
    }
    if (jcc) {
      rec.flags |= kJcc;
      rec.cond = loop ? in.opcode & 0x03 : in.opcode & 0x0f;
      if (in.raw.imm[0].size == 32) rec.flags |= kJccRel32;
      if (in.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE ||
          in.operand_width != 64)
        rec.flags |= kJccOdd;
      jccs_.push_back({insns_.size(), li,
                       static_cast<int64_t>(next + in.raw.imm[0].value.s)});
    }
    insns_.push_back(rec);
    off += in.length;
  }
  insns_.push_back({static_cast<uint32_t>(end), 0, 0, 0, kInvalid});
}

void Scanner::collect_symbols_and_relocs() {
  for (const Elf64_Shdr& sh : shdrs_) {
    if (sh.sh_offset > size_ || sh.sh_size > size_ - sh.sh_offset) continue;
    if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
      for (uint64_t p = sh.sh_offset; p + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size;
           p += sizeof(Elf64_Sym)) {
        Elf64_Sym s;
        read(p, &s);
        if (s.st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s.st_info) != STT_SECTION &&
            ELF64_ST_TYPE(s.st_info) != STT_FILE && ELF64_ST_TYPE(s.st_info) != STT_TLS)
          add_target_vaddr(s.st_value);
      }
    } else if (sh.sh_type == SHT_RELA) {
      for (uint64_t p = sh.sh_offset; p + sizeof(Elf64_Rela) <= sh.sh_offset + sh.sh_size;
           p += sizeof(Elf64_Rela)) {
        Elf64_Rela r;
        read(p, &r);
        add_target_vaddr(static_cast<uint64_t>(r.r_addend));
      }
    } else if (sh.sh_type == SHT_RELR) {
      // Packed relative relocations: the addend is the word in place.
      uint64_t where = 0;
      for (uint64_t p = sh.sh_offset; p + 8 <= sh.sh_offset + sh.sh_size; p += 8) {
        uint64_t e = 0;
        read(p, &e);
        auto word_at = [&](uint64_t v) {
          const Load* l = load_of_vaddr(v);
          uint64_t w;
          if (l && read(v - l->vaddr + l->offset, &w)) add_target_vaddr(w);
        };
        if ((e & 1) == 0) {
          word_at(e);
          where = e + 8;
        } else {
          for (int b = 1; b < 64; ++b)
            if (e >> b & 1) word_at(where + (b - 1) * 8);
          where += 63 * 8;
        }
      }
    }
  }
}

// Non-PIE objects hold code pointers (function pointer tables, switch
// tables) as plain absolute words. PIE objects' pointers are relocation
// addends (above); their small link-time addresses would make random data
// look like pointers.
void Scanner::collect_data_pointers() {
  if (eh_.e_type != ET_EXEC) return;
  for (const Load& l : loads_) {
    for (uint64_t p = (l.offset + 7) & ~uint64_t{7}; p + 8 <= l.offset + l.size; p += 8) {
      uint64_t w;
      memcpy(&w, file_ + p, 8);
      add_target_vaddr(w);
    }
  }
}

// Bounds-checked reader of DWARF-style data at vaddrs of the file.
class Cursor {
 public:
  Cursor(const uint8_t* file, uint64_t off, uint64_t end, uint64_t vaddr)
      : file_(file), p_(off), end_(end), vbias_(vaddr - off) {}
  bool ok() const { return ok_; }
  uint64_t pos() const { return p_; }
  uint64_t vaddr() const { return p_ + vbias_; }
  void seek(uint64_t off) { if (off > end_) ok_ = false; else p_ = off; }
  uint64_t u(int n) {
    if (!ok_ || end_ - p_ < uint64_t(n)) { ok_ = false; return 0; }
    uint64_t v = 0;
    memcpy(&v, file_ + p_, n);
    p_ += n;
    return v;
  }
  int64_t s(int n) {
    uint64_t v = u(n);
    int sh = 64 - 8 * n;
    return n == 8 ? int64_t(v) : int64_t(v << sh) >> sh;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (int sh = 0; ok_; sh += 7) {
      uint64_t b = u(1);
      if (sh < 64) v |= (b & 0x7f) << sh;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  int64_t sleb() {
    uint64_t v = 0, b = 0;
    int sh = 0;
    do {
      b = u(1);
      if (sh < 64) v |= (b & 0x7f) << sh;
      sh += 7;
    } while (ok_ && (b & 0x80));
    if (sh < 64 && (b & 0x40)) v |= ~uint64_t{0} << sh;
    return int64_t(v);
  }
  std::string cstr() {
    std::string r;
    while (ok_) {
      char c = char(u(1));
      if (!c) break;
      r += c;
    }
    return r;
  }
  // A DW_EH_PE_* encoded pointer; false for "omit", an indirect or an
  // unsupported encoding (the caller then skips the record).
  bool ptr(uint8_t enc, uint64_t* out) {
    if (enc == 0xff) return false;
    const uint64_t here = vaddr();
    uint64_t v;
    switch (enc & 0x0f) {
      case 0x00: v = u(8); break;
      case 0x01: v = uleb(); break;
      case 0x02: v = u(2); break;
      case 0x03: v = u(4); break;
      case 0x04: v = u(8); break;
      case 0x09: v = uint64_t(sleb()); break;
      case 0x0a: v = uint64_t(s(2)); break;
      case 0x0b: v = uint64_t(s(4)); break;
      case 0x0c: v = uint64_t(s(8)); break;
      default: ok_ = false; return false;
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case 0x10: v += here; break;  // pcrel
      default: return false;        // textrel/datarel/funcrel: not used on x86-64
    }
    *out = v;
    return ok_ && !(enc & 0x80);
  }

 private:
  const uint8_t* file_;
  uint64_t p_, end_, vbias_;
  bool ok_ = true;
};

// Landing pads are reached by the unwinder through computed addresses,
// named only by the LSDAs (.gcc_except_table) of .eh_frame's FDEs: a pad
// reached by falling through plain code could otherwise lie inside a range.
void Scanner::collect_landing_pads() {
  const Elf64_Shdr* eh = nullptr;
  for (const Elf64_Shdr& sh : shdrs_)
    if (sh.sh_name < shstr_.size() && strcmp(shstr_.c_str() + sh.sh_name, ".eh_frame") == 0 &&
        sh.sh_type == SHT_PROGBITS)
      eh = &sh;
  if (!eh || eh->sh_offset > size_ || eh->sh_size > size_ - eh->sh_offset) return;
  struct Cie { uint8_t fde_enc = 0, lsda_enc = 0xff; bool z = false; };
  std::vector<std::pair<uint64_t, Cie>> cies;  // by file offset
  auto cie_at = [&](uint64_t off, Cie* out) {
    for (auto& c : cies) if (c.first == off) { *out = c.second; return true; }
    Cursor c(file_, off, eh->sh_offset + eh->sh_size, eh->sh_addr + (off - eh->sh_offset));
    uint64_t len = c.u(4);
    if (len == 0 || len == 0xffffffff) return false;
    uint64_t end = c.pos() + len;
    if (c.u(4) != 0) return false;  // not a CIE
    Cie r;
    int version = int(c.u(1));
    std::string aug = c.cstr();
    if (aug.find("eh") != std::string::npos) return false;
    c.uleb();
    c.sleb();
    if (version == 1) c.u(1); else c.uleb();
    if (!aug.empty() && aug[0] == 'z') {
      r.z = true;
      c.uleb();
      for (size_t i = 1; i < aug.size() && c.ok(); ++i) {
        if (aug[i] == 'L') r.lsda_enc = uint8_t(c.u(1));
        else if (aug[i] == 'R') r.fde_enc = uint8_t(c.u(1));
        else if (aug[i] == 'P') { uint8_t pe = uint8_t(c.u(1)); uint64_t dummy; c.ptr(pe & 0x7f, &dummy); }
        else if (aug[i] != 'S' && aug[i] != 'B') return false;
      }
    }
    if (!c.ok() || c.pos() > end) return false;
    cies.push_back({off, r});
    *out = r;
    return true;
  };
  const uint64_t end = eh->sh_offset + eh->sh_size;
  for (uint64_t p = eh->sh_offset; end - p >= 8;) {
    Cursor c(file_, p, end, eh->sh_addr + (p - eh->sh_offset));
    uint64_t len = c.u(4);
    if (len == 0 || len == 0xffffffff || len > end - c.pos()) break;
    const uint64_t next = c.pos() + len;
    const uint64_t id_pos = c.pos();
    uint64_t id = c.u(4);
    Cie cie;
    if (id != 0 && id <= id_pos && cie_at(id_pos - id, &cie) && cie.lsda_enc != 0xff && cie.z) {
      uint64_t pc_begin = 0, range = 0, lsda = 0;
      bool have_pc = c.ptr(cie.fde_enc, &pc_begin);
      c.ptr(cie.fde_enc & 0x0f, &range);
      c.uleb();  // augmentation data length
      if (have_pc && c.ptr(cie.lsda_enc, &lsda) && c.ok()) parse_lsda(lsda, pc_begin);
    }
    p = next;
  }
}

void Scanner::parse_lsda(uint64_t lsda, uint64_t func) {
  const Load* l = load_of_vaddr(lsda);
  if (!l) return;
  Cursor c(file_, lsda - l->vaddr + l->offset, l->offset + l->size, lsda);
  uint8_t lp_enc = uint8_t(c.u(1));
  uint64_t lp_start = func;
  if (lp_enc != 0xff && !c.ptr(lp_enc, &lp_start)) return;
  uint8_t tt_enc = uint8_t(c.u(1));
  if (tt_enc != 0xff) c.uleb();
  uint8_t cs_enc = uint8_t(c.u(1));
  uint64_t cs_len = c.uleb();
  const uint64_t cs_end = c.pos() + cs_len;
  while (c.ok() && c.pos() < cs_end) {
    uint64_t start, length, pad;
    if (!c.ptr(cs_enc, &start) || !c.ptr(cs_enc, &length) || !c.ptr(cs_enc, &pad)) return;
    c.uleb();  // action
    if (pad) {
      add_target_vaddr(lp_start + pad);
      ++out_->landing_pads;
    }
  }
}

void Scanner::jump_tables() {
  std::sort(table_bases_.begin(), table_bases_.end());
  table_bases_.erase(std::unique(table_bases_.begin(), table_bases_.end()),
                     table_bases_.end());
  for (uint64_t base : table_bases_) {
    const Load* l = load_of_vaddr(base);
    if (!l) continue;
    for (int i = 0; i < 4096; ++i) {
      uint64_t v = base + uint64_t(i) * 4;
      if (v - l->vaddr + 4 > l->size) break;
      int32_t e = 0;
      memcpy(&e, file_ + (v - l->vaddr + l->offset), 4);
      uint64_t t = base + static_cast<uint64_t>(int64_t{e});
      const Load* tl = load_of_vaddr(t);
      if (!tl || !tl->exec) break;
      targets_.push_back(t - tl->vaddr + tl->offset);
    }
  }
}

void Scanner::make_sites() {
  // Syscall sites first: a buffered syscall saves a ptrace stop, far more
  // than a counted branch; jcc sites then keep out of their ranges.
  make_syscall_sites();
  if (!out_->statically_instrumented) make_jcc_sites();
  std::sort(out_->sites.begin(), out_->sites.end(),
            [](const BranchSite& a, const BranchSite& b) { return a.start < b.start; });
  chain_sites();
}

// Gives the form A sites a gap (BranchSite::chained): the instructions
// after E, copied into the stub so that it need not jump back to E. Either
// they lead to the next site, a jcc site, and the stub runs on into that
// site's stub, or they end in a `jmp` or `ret`, which the stub ends with
// too (BranchSite::transfer). The gap's other instructions must be plain
// (a copy computes what the original does) or fillers. The gap is not
// overwritten, so unlike a site's range it may hold possible targets.
void Scanner::chain_sites() {
  std::vector<BranchSite>& v = out_->sites;
  for (size_t i = 0; i < v.size(); ++i) {
    BranchSite& s = v[i];
    if (s.form != StubForm::kCountBeforeSetter) continue;
    const uint64_t to = i + 1 < v.size() ? v[i + 1].start : UINT64_MAX;
    auto it = std::lower_bound(insns_.begin(), insns_.end(), s.end(),
                               [](const Insn& x, uint64_t o) { return x.offset < o; });
    uint8_t n = 0;
    GapTransfer transfer = GapTransfer::kNone;
    GapInsn gap[kMaxGap];
    uint64_t at = s.end();
    SkipReason why;
    for (; at < to && n < kMaxGap && it != insns_.end() && it->offset == at; ++it) {
      const uint64_t next = at + it->length;
      if (next - s.end() > kMaxGapBytes || next > to) break;
      if (it->flags & (kJmpRel | kRet)) {
        gap[n++] = {it->length, 0};
        transfer = it->flags & kJmpRel ? GapTransfer::kJmp : GapTransfer::kRet;
        at = next;
        break;
      }
      const bool filler = it->flags & kFiller;  // (a nop's memory operand is never read)
      if (!filler && !usable(*it, false, at, &why)) break;
      gap[n++] = {it->length, filler ? uint8_t{0} : it->riprel_at};
      at = next;
    }
    if (transfer == GapTransfer::kNone &&
        (at != to || i + 1 == v.size() || calls_engine(v[i + 1].form)))
      continue;
    s.chained = true;
    s.transfer = transfer;
    s.num_gap = n;
    std::copy(gap, gap + n, s.gap);
  }
}

// A syscall (or cpuid) site: the plain instructions right before the
// `syscall` (up to the nearest possible target: S may be one, nothing after
// it), then those right after it if the range is still shorter than the
// 5-byte jmp.
void Scanner::make_syscall_sites() {
  std::sort(syscalls_.begin(), syscalls_.end(), [&](const SyscallRef& a, const SyscallRef& b) {
    return insns_[a.insn].offset < insns_[b.insn].offset;
  });
  uint64_t prev_stop = 0;
  for (const SyscallRef& ref : syscalls_) {  // in sweep (address) order
    const Insn& sc = insns_[ref.insn];
    const bool cpuid = sc.flags & kCpuid;
    SegmentStats& st = out_->segments[loads_[ref.load].stats_index];
    (cpuid ? st.cpuid_found : st.syscall_found)++;
    auto skip = [&](SkipReason r) { st.skipped[static_cast<int>(r)]++; };
    if (sc.length != 2) { skip(SkipReason::kUnrelocatable); continue; }  // prefixed
    const Insn& before = insns_[ref.insn - 1];  // a kInvalid marker at worst
    if (!cpuid && (before.flags & kMovSigreturn) &&
        uint64_t{before.offset} + before.length == sc.offset) {
      skip(SkipReason::kSigreturn);
      continue;
    }
    size_t k = 0, after = 0;
    uint64_t start = sc.offset, stop = uint64_t{sc.offset} + sc.length;
    SkipReason why = SkipReason::kUnrelocatable;
    bool at_target = false;  // a walk stopped at a possible target
    while (stop - start < 5 && k < kMaxRelocated) {
      if (is_target(start)) { at_target = true; break; }
      const Insn& p = insns_[ref.insn - 1 - k];
      if (!usable(p, true, start, &why) || p.offset < prev_stop) break;
      if (stop - p.offset > kMaxRangeBytes) break;
      start = p.offset;
      ++k;
    }
    while (stop - start < 5 && k + after < kMaxRelocated && ref.insn + 1 + after < insns_.size()) {
      const Insn& n = insns_[ref.insn + 1 + after];
      if (is_target(stop)) { at_target = true; break; }
      if (!usable(n, false, stop, &why)) break;
      if (uint64_t{n.offset} + n.length - start > kMaxRangeBytes) break;
      stop = uint64_t{n.offset} + n.length;
      ++after;
    }
    if (stop - start < 5) { skip(at_target ? SkipReason::kTargetInRange : why); continue; }
    // (The walks stop at targets on instruction starts; this catches those
    // inside an instruction.)
    if (target_inside(start, stop)) { skip(SkipReason::kTargetInRange); continue; }
    prev_stop = stop;
    BranchSite s;
    s.start = start;
    s.length = static_cast<uint8_t>(stop - start);
    s.jcc_length = sc.length;
    s.form = cpuid ? StubForm::kCpuid : StubForm::kSyscall;
    set_relocated(&s, ref.insn, k, after);
    out_->sites.push_back(s);
    syscall_ranges_.push_back({start, stop});
    (cpuid ? st.cpuid_patched : st.syscall_patched)++;
  }
  std::sort(syscall_ranges_.begin(), syscall_ranges_.end());
}

void Scanner::make_jcc_sites() {
  // In address order, so that a site's range may end after its jcc: the
  // next site then starts no earlier than prev_stop.
  std::sort(jccs_.begin(), jccs_.end(), [&](const JccRef& a, const JccRef& b) {
    return insns_[a.insn].offset < insns_[b.insn].offset;
  });
  uint64_t prev_stop = 0;
  for (const JccRef& j : jccs_) {
    const Insn& jcc = insns_[j.insn];
    const Load& seg = loads_[j.load];
    SegmentStats& st = out_->segments[seg.stats_index];
    const bool rel32 = jcc.flags & kJccRel32;
    (rel32 ? st.rel32_found : st.rel8_found)++;
    auto skip = [&](SkipReason r) { st.skipped[static_cast<int>(r)]++; };
    const uint64_t end = uint64_t{jcc.offset} + jcc.length;
    if (jcc.flags & kJccOdd) { skip(SkipReason::kUnrelocatable); continue; }
    if (jcc.length > kMaxRangeBytes - 0) { skip(SkipReason::kUnrelocatable); continue; }

    // Walk back over the fewest plain instructions that make room for the
    // 5-byte jmp (rel8) or, for rel32, over the flag setter if it has one.
    // A short jcc still short of room then takes the plain instructions
    // after it (its fallthrough) too.
    size_t k = 0, after = 0;
    uint64_t start = jcc.offset, stop = end;
    SkipReason why = SkipReason::kUnrelocatable;
    if (rel32) {
      const Insn& p = insns_[j.insn - 1];
      SkipReason r;
      if ((p.flags & kFullSetter) && usable(p, true, start, &r) && p.offset >= prev_stop &&
          !target_inside(p.offset, end)) {
        k = 1;
        start = p.offset;
      }
    } else {
      auto walk = [&](size_t max_before) {
        k = after = 0;
        start = jcc.offset;
        stop = end;
        while (stop - start < 5 && k < max_before && j.insn >= k + 1) {
          const Insn& p = insns_[j.insn - 1 - k];
          if (!usable(p, true, start, &why) || p.offset < prev_stop) break;
          if (jcc.offset - p.offset > 15 || stop - p.offset > kMaxRangeBytes) break;
          start = p.offset;
          ++k;
        }
        while (stop - start < 5 && k + after < kMaxRelocated &&
               j.insn + 1 + after < insns_.size()) {
          const Insn& n = insns_[j.insn + 1 + after];
          if (!usable(n, false, stop, &why)) break;
          if (uint64_t{n.offset} + n.length - start > kMaxRangeBytes) break;
          stop = uint64_t{n.offset} + n.length;
          ++after;
        }
      };
      walk(kMaxRelocated);
      // The branch itself may be a target (`1: loop 1b`), so that no
      // instruction before it can go: then only those after it.
      if (k > 0 && (stop - start < 5 || target_inside(start, stop))) walk(0);
    }
    if (stop - start < 5 || start < prev_stop) { skip(why); continue; }
    if (target_inside(start, stop)) { skip(SkipReason::kTargetInRange); continue; }
    prev_stop = stop;

    BranchSite s;
    s.start = start;
    s.length = static_cast<uint8_t>(stop - start);
    s.jcc_length = jcc.length;
    s.cond = jcc.cond;
    s.rel32 = rel32;
    set_relocated(&s, j.insn, k, after);
    s.form = (jcc.flags & kLoopInsn)                                 ? StubForm::kLoop
             : (k > 0 && (insns_[j.insn - 1].flags & kFullSetter)) ? StubForm::kCountBeforeSetter
                                                                    : StubForm::kFlagFree;
    s.taken = j.taken_vaddr - static_cast<int64_t>(seg.vaddr) +
              static_cast<int64_t>(seg.offset);
    out_->sites.push_back(s);
    (rel32 ? st.rel32_patched : st.rel8_patched)++;
  }
}

}  // namespace

bool scan_elf(const uint8_t* file, size_t size, ScanResult* out,
              std::string* error) {
  *out = ScanResult();
  Scanner s(file, size, out);
  if (!s.run(error)) {
    *out = ScanResult();
    return false;
  }
  return true;
}

std::string elf_build_id(const uint8_t* file, size_t size) {
  ScanResult r;
  Scanner s(file, size, &r);
  s.notes_only();
  return r.build_id;
}

}  // namespace rrx::instrument
