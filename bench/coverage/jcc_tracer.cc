#include "jcc_tracer.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/cpu_binding.h"
#include "core/proc_maps.h"
#include "instrument/plain_insn.h"
#include "instrument/site_cache.h"

namespace rrx::coverage {
namespace ins = rrx::instrument;
namespace {

// The scanner's code ranges (executable sections inside executable
// PT_LOADs), swept the same way.
void sweep(Object* o) {
  const uint8_t* f = reinterpret_cast<const uint8_t*>(o->bytes.data());
  size_t size = o->bytes.size();
  Elf64_Ehdr eh;
  memcpy(&eh, f, sizeof eh);
  std::vector<Elf64_Phdr> loads;
  for (unsigned i = 0; i < eh.e_phnum && eh.e_phoff + (i + 1) * sizeof(Elf64_Phdr) <= size; ++i) {
    Elf64_Phdr ph;
    memcpy(&ph, f + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && ph.p_offset < size) loads.push_back(ph);
  }
  std::vector<Elf64_Shdr> shdrs;
  for (unsigned i = 0; eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr) && i < eh.e_shnum &&
                       eh.e_shoff + (i + 1) * sizeof(Elf64_Shdr) <= size; ++i) {
    shdrs.emplace_back();
    memcpy(&shdrs.back(), f + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
  }
  // Without section headers the scanner sweeps whole segments.
  if (shdrs.empty()) {
    for (const Elf64_Phdr& l : loads) {
      Elf64_Shdr sh{};
      sh.sh_flags = SHF_EXECINSTR | SHF_ALLOC;
      sh.sh_type = SHT_PROGBITS;
      sh.sh_offset = l.p_offset;
      sh.sh_size = l.p_filesz;
      shdrs.push_back(sh);
    }
  }
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  for (const Elf64_Phdr& l : loads) {
    uint64_t lend = l.p_offset + std::min<uint64_t>(l.p_filesz, size - l.p_offset);
    for (const Elf64_Shdr& sh : shdrs) {
      if (!(sh.sh_flags & SHF_EXECINSTR) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS)
        continue;
      uint64_t b = std::max<uint64_t>(sh.sh_offset, l.p_offset);
      uint64_t e = std::min<uint64_t>(sh.sh_offset + sh.sh_size, lend);
      if (b >= e) continue;
      o->insns.push_back(Insn{b, 0, true});
      for (uint64_t off = b; off < e;) {
        ZydisDecodedInstruction in;
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, nullptr, f + off, e - off, &in))) {
          o->insns.push_back(Insn{off, 1, true});
          ++off;
          continue;
        }
        Insn r;
        r.offset = off;
        r.length = in.length;
        r.mnemonic = in.mnemonic;
        r.category = in.meta.category;
        r.plain = ins::is_plain_insn(in);
        r.riprel_bad = (in.attributes & ZYDIS_ATTRIB_HAS_MODRM) && in.raw.modrm.mod == 0 &&
                       in.raw.modrm.rm == 5 && !(in.attributes & ZYDIS_ATTRIB_HAS_SIB) &&
                       (in.address_width != 64 || in.raw.disp.size != 32 || in.raw.disp.offset == 0);
        const uint64_t next_vaddr = off - l.p_offset + l.p_vaddr + in.length;
        for (int i = 0; i < 2; ++i)
          if (in.raw.imm[i].size && in.raw.imm[i].is_relative)
            o->direct_targets.insert(next_vaddr + in.raw.imm[i].value.s - l.p_vaddr + l.p_offset);
        if (in.meta.category == ZYDIS_CATEGORY_COND_BR && in.raw.imm[0].is_relative &&
            ((in.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (in.opcode & 0xf0) == 0x70 &&
              in.raw.imm[0].size == 8) ||
             (in.opcode_map == ZYDIS_OPCODE_MAP_0F && (in.opcode & 0xf0) == 0x80 &&
              in.raw.imm[0].size == 32))) {
          r.jcc = true;
          r.rel32 = in.raw.imm[0].size == 32;
          r.odd = (in.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE) || in.operand_width != 64;
          r.cond = in.opcode & 0x0f;
          r.disp = static_cast<int32_t>(in.raw.imm[0].value.s);
          o->jccs.push_back(o->insns.size());
        } else if ((in.mnemonic == ZYDIS_MNEMONIC_LOOP || in.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
                    in.mnemonic == ZYDIS_MNEMONIC_LOOPNE || in.mnemonic == ZYDIS_MNEMONIC_JRCXZ) &&
                   in.raw.prefix_count == 0 && in.length == 2) {
          r.jcc = true;
          r.loop_opcode = in.opcode;
          r.disp = static_cast<int32_t>(in.raw.imm[0].value.s);
          o->jccs.push_back(o->insns.size());
        }
        o->insns.push_back(r);
        off += in.length;
      }
      o->insns.push_back(Insn{e, 0, true});
    }
  }
  o->hits.assign(o->jccs.size(), 0);
}

bool taken(uint8_t cond, uint64_t eflags);

// Runs loop/loope/loopne/jrcxz `j` on `regs` (%rcx counted down): taken?
bool loop_taken(const Insn& j, user_regs_struct* regs) {
  if (j.loop_opcode == 0xe3) return regs->rcx == 0;
  regs->rcx -= 1;
  bool zf = regs->eflags & 0x40;
  return regs->rcx != 0 && (j.loop_opcode == 0xe2 || (j.loop_opcode == 0xe1) == zf);
}

// Whether a jcc with condition `cond` is taken under `eflags`.
bool taken(uint8_t cond, uint64_t eflags) {
  bool cf = eflags & 1, pf = eflags & 4, zf = eflags & 0x40, sf = eflags & 0x80,
       of = eflags & 0x800;
  bool r = false;
  switch (cond >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    case 7: r = zf || sf != of; break;
  }
  return (cond & 1) ? !r : r;
}

}  // namespace

std::string classify(const Object& o, size_t i) {
  const Insn& j = o.insns[i];
  if (j.odd) return "unreloc: jcc with operand-size prefix";
  const uint64_t end = j.offset + j.length;
  uint64_t start = j.offset;
  // What blocked the walk, and how many bytes (of the 5 needed) it had.
  auto blocked = [&](const std::string& what) {
    return what + " (" + std::to_string(end - start) + " B)";
  };
  for (size_t k = 0; end - start < 5; ++k) {
    if (k == ins::kMaxRelocated) return blocked("unreloc: 4-instruction limit");
    const Insn& p = o.insns[i - 1 - k];
    if (p.invalid)
      return blocked(p.length ? "unreloc: undecodable byte before" : "unreloc: start of code section");
    if (p.in_syscall_site) return blocked("unreloc: in a syscall site");
    if (!p.plain) {
      switch (p.category) {
        case ZYDIS_CATEGORY_COND_BR: return blocked("unreloc: jcc/loop before");
        case ZYDIS_CATEGORY_UNCOND_BR: return blocked("unreloc: jmp before");
        case ZYDIS_CATEGORY_CALL: return blocked("unreloc: call before");
        case ZYDIS_CATEGORY_RET: return blocked("unreloc: ret before");
        case ZYDIS_CATEGORY_SYSTEM: return blocked("unreloc: syscall etc. before");
        default: break;
      }
      if (p.mnemonic == ZYDIS_MNEMONIC_NOP) return blocked("unreloc: nop before");
      if (p.mnemonic == ZYDIS_MNEMONIC_ENDBR64) return blocked("unreloc: endbr64 before");
      return blocked(std::string("unreloc: ") + ZydisMnemonicGetString(p.mnemonic) + " before");
    }
    if (p.riprel_bad) return blocked("rip-rel");
    start = p.offset;
    if (j.offset - start > 15 || end - start > ins::kMaxRangeBytes) return "unreloc: 15-byte limit";
  }
  // The walk succeeds (a rel32 jcc needs none): a possible target lies in
  // (start, end). Only direct branch targets are known here.
  auto it = o.direct_targets.upper_bound(start);
  if (it == o.direct_targets.end() || *it >= end) return "target: other (symbol/reloc/table/pad)";
  if (*it == j.offset) return "target: jcc is a branch target";
  return *it > j.offset ? "target: inside the jcc" : "target: moved insn is a branch target";
}

bool load_object(const std::string& path, Object* o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  o->path = path;
  o->bytes = ss.str();
  if (!ins::load_or_scan(path, &o->scan)) return false;
  sweep(o);
  std::set<uint64_t> sites;
  std::vector<std::pair<uint64_t, uint64_t>> syscall_sites;  // sorted by start
  for (const auto& s : o->scan.sites) {
    if (ins::calls_engine(s.form)) {  // a syscall or cpuid site
      syscall_sites.push_back({s.start, s.end()});
    } else {
      sites.insert(s.jcc_offset());
    }
  }
  for (Insn& in : o->insns) {
    auto it = std::upper_bound(syscall_sites.begin(), syscall_sites.end(),
                               std::pair<uint64_t, uint64_t>{in.offset, UINT64_MAX});
    in.in_syscall_site = !in.invalid && it != syscall_sites.begin() && std::prev(it)->second > in.offset;
  }
  for (size_t i : o->jccs) o->patched.push_back(sites.count(o->insns[i].offset) != 0);
  // The sweep must see the scanner's jccs.
  uint64_t found = 0;
  for (const auto& s : o->scan.segments) found += s.rel8_found + s.rel32_found;
  if (found != o->jccs.size())
    fprintf(stderr, "warning: %s: sweep found %zu jccs, scanner %lu\n", path.c_str(),
            o->jccs.size(), found);
  return true;
}

bool Tracer::counted(const Object& o, size_t k) const {
  if (!counts || o.insns[o.jccs[k]].odd) return false;
  if (!o.patched[k] || sample == 1) return true;
  uint64_t x = o.insns[o.jccs[k]].offset * 0x9e3779b97f4a7c15ull;  // Fibonacci hash
  return (x >> 32) % sample == 0;
}

Tally Tracer::tally(const Object& o, bool rel32) const {
  Tally t;
  for (size_t k = 0; k < o.jccs.size(); ++k) {
    if (o.insns[o.jccs[k]].rel32 != rel32) continue;
    const bool p = o.patched[k];
    ++t.found;
    if (!o.hits[k]) continue;
    ++t.executed;
    t.executed_patched += p;
    if (!counts) continue;
    // A patched site outside the sample stands for none, one in it for
    // `sample` (with sample 1: every execution once).
    uint64_t n = !p ? o.hits[k] : counted(o, k) ? o.hits[k] * sample : 0;
    t.executions += n;
    if (p) t.executions_patched += n;
  }
  return t;
}

// Arms the jccs of every new file-backed executable mapping.
void Tracer::arm_new_mappings() {
  for (const Mapping& m : rrx::read_mappings(pid_)) {
    if (!m.exec || m.inode == 0 || m.path.empty() || m.path[0] != '/') continue;
    auto key = std::make_tuple(m.start, m.end, m.offset, m.inode);
    if (!armed_maps_.insert(key).second) continue;
    auto it = objects.find(m.path);
    if (it == objects.end()) {
      Object o;
      if (!load_object(m.path, &o)) {
        fprintf(stderr, "warning: cannot scan %s\n", m.path.c_str());
        continue;
      }
      it = objects.emplace(m.path, std::move(o)).first;
    }
    Object& o = it->second;
    std::string text(m.end - m.start, '\0');
    if (pread(mem_, text.data(), text.size(), m.start) != ssize_t(text.size())) continue;
    for (size_t k = 0; k < o.jccs.size(); ++k) {
      uint64_t off = o.insns[o.jccs[k]].offset;
      if (off < m.offset || off >= m.offset + (m.end - m.start)) continue;
      if (o.hits[k] && !counted(o, k)) continue;  // seen already (another mapping)
      uint64_t a = off - m.offset + m.start;
      uint8_t& b = reinterpret_cast<uint8_t&>(text[a - m.start]);
      auto old = bps_.find(a);
      uint8_t orig = old != bps_.end() && old->second.o == &o && old->second.jcc == k
                         ? old->second.orig : b;  // armed already (a split mapping)
      bps_[a] = {&o, k, orig, true};
      b = 0xcc;
    }
    pwrite(mem_, text.data(), text.size(), m.start);
  }
}

bool Tracer::run(char* const* argv, const std::string& out, std::string* how) {
  // One stop per jcc hit: ~5 us with tracer and program on one CPU, ~40 us
  // and more across CPUs (python3 -c pass: 30 s against 240 s).
  bind_to_cpu(-1);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    execv(argv[0], const_cast<char**>(argv));
    _exit(127);
  }
  int status;
  waitpid(pid_, &status, 0);  // the exec stop
  ptrace(PTRACE_SETOPTIONS, pid_, nullptr,
         PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE);
  mem_ = open(("/proc/" + std::to_string(pid_) + "/mem").c_str(), O_RDWR);
  arm_new_mappings();
  std::unordered_map<pid_t, bool> in_syscall;
  pid_t tid = pid_;
  int sig = 0;
  for (;;) {
    ptrace(PTRACE_SYSCALL, tid, nullptr, sig);
    sig = 0;
    tid = waitpid(-1, &status, __WALL);
    if (tid < 0) break;
    ++stops;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid != pid_) continue;
      *how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                       : std::string("signal ") + strsignal(WTERMSIG(status));
      // Other threads may still report; the main one is gone.
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    if (!WIFSTOPPED(status)) continue;
    int s = WSTOPSIG(status);
    if (s == (SIGTRAP | 0x80)) {
      bool& in = in_syscall[tid];
      in = !in;
      if (!in) {
        user_regs_struct regs;
        ptrace(PTRACE_GETREGS, tid, nullptr, &regs);
        if (regs.orig_rax == SYS_mmap || regs.orig_rax == SYS_mprotect) arm_new_mappings();
      }
      continue;
    }
    if (s == SIGTRAP && (status >> 16) == 0) {
      user_regs_struct regs;
      ptrace(PTRACE_GETREGS, tid, nullptr, &regs);
      auto it = bps_.find(regs.rip - 1);
      if (it == bps_.end()) { sig = SIGTRAP; continue; }
      Bp& bp = it->second;
      regs.rip -= 1;
      if (bp.armed) ++bp.o->hits[bp.jcc];  // else another thread's late hit
      if (bp.armed && counted(*bp.o, bp.jcc)) {
        // Execute the jcc here: one stop per execution, the int3 stays.
        const Insn& j = bp.o->insns[bp.o->jccs[bp.jcc]];
        const bool jumps = j.loop_opcode ? loop_taken(j, &regs) : taken(j.cond, regs.eflags);
        regs.rip += j.length + (jumps ? int64_t{j.disp} : 0);
      } else if (bp.armed) {
        pwrite(mem_, &bp.orig, 1, regs.rip);
        bp.armed = false;
      }
      ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
      continue;
    }
    if ((status >> 16) != 0) continue;  // clone event etc.
    if (s == SIGSTOP && in_syscall.count(tid) == 0 && tid != pid_) {
      in_syscall[tid] = false;  // a new thread's first stop
      continue;
    }
    sig = s;
  }
  *how = "lost";
  return false;
}

}  // namespace rrx::coverage
