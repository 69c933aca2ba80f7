// Tests of backend/instrument/: the scan of real system ELF files, the
// stubs as Zydis decodes them, patched code run for real (in this process,
// counted against an independent single-stepping count), the pc map and
// the scan cache.
#include <Zydis/Zydis.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "instrument/branch_sites.h"
#include "instrument/patch_map.h"
#include "instrument/site_cache.h"
#include "instrument/stub_emitter.h"
#include "instrument_samples.h"
#include "ticks/tick_page.h"

namespace rrx::instrument {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

ZydisDecoder make_decoder() {
  ZydisDecoder d;
  ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  return d;
}

bool is_jcc(const ZydisDecodedInstruction& in) {
  if (in.meta.category != ZYDIS_CATEGORY_COND_BR) return false;
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_JRCXZ: case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_JCXZ:
    case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
      return false;
    default:
      return true;
  }
}

// Executable section ranges (file offsets) and the vaddr->offset map,
// recomputed here from the section headers, independently of the scanner.
struct Elf {
  std::string bytes;
  struct Sec { uint64_t off, size, addr; };
  std::vector<Sec> code;
  bool load(const std::string& path) {
    bytes = read_whole(path);
    if (bytes.size() < sizeof(Elf64_Ehdr)) return false;
    Elf64_Ehdr eh;
    memcpy(&eh, bytes.data(), sizeof eh);
    for (int i = 0; i < eh.e_shnum; ++i) {
      Elf64_Shdr sh;
      memcpy(&sh, bytes.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
      if ((sh.sh_flags & SHF_EXECINSTR) && sh.sh_type == SHT_PROGBITS)
        code.push_back({sh.sh_offset, sh.sh_size, sh.sh_addr});
    }
    return true;
  }
  // Every direct branch target, by full decoding and
  // ZydisCalcAbsoluteAddress, as file offsets.
  std::vector<uint64_t> branch_targets() const {
    ZydisDecoder d = make_decoder();
    std::vector<uint64_t> t;
    for (const Sec& s : code) {
      ZydisDecodedInstruction in;
      ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
      for (uint64_t o = 0; o < s.size;) {
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, bytes.data() + s.off + o, s.size - o, &in, ops))) {
          ++o;
          continue;
        }
        if (in.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
          for (int i = 0; i < in.operand_count_visible; ++i) {
            ZyanU64 a;
            if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[i], s.addr + o, &a))) {
              for (const Sec& c : code)
                if (a >= c.addr && a < c.addr + c.size) t.push_back(a - c.addr + c.off);
            }
          }
        }
        o += in.length;
      }
    }
    std::sort(t.begin(), t.end());
    return t;
  }
};

void check_scan(const std::string& path, const char* name, ScanResult* result = nullptr) {
  Elf elf;
  if (access(path.c_str(), R_OK) != 0 || !elf.load(path))
    GTEST_SKIP() << "SKIPPED: " << path << " not present";
  ScanResult r;
  std::string err;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(scan_elf(u8(elf.bytes), elf.bytes.size(), &r, &err)) << err;
  double ms = ms_since(t0);
  EXPECT_FALSE(r.statically_instrumented);
  EXPECT_FALSE(r.build_id.empty());
  ASSERT_FALSE(r.segments.empty());
  uint64_t f8 = 0, p8 = 0, f32 = 0, p32 = 0, fsys = 0, psys = 0, pcpuid = 0, formA = 0;
  for (const SegmentStats& s : r.segments) {
    EXPECT_GE(s.rel8_found, s.rel8_patched);
    EXPECT_GE(s.rel32_found, s.rel32_patched);
    EXPECT_GE(s.syscall_found, s.syscall_patched);
    EXPECT_GE(s.cpuid_found, s.cpuid_patched);
    uint64_t skipped = 0;
    for (uint32_t k : s.skipped) skipped += k;
    EXPECT_EQ(skipped, s.rel8_found - s.rel8_patched + s.rel32_found - s.rel32_patched +
                           s.syscall_found - s.syscall_patched + s.cpuid_found - s.cpuid_patched);
    f8 += s.rel8_found; p8 += s.rel8_patched; f32 += s.rel32_found; p32 += s.rel32_patched;
    fsys += s.syscall_found; psys += s.syscall_patched; pcpuid += s.cpuid_patched;
    printf("[ %s ] segment off %#lx size %#lx: rel8 %u/%u rel32 %u/%u syscall %u/%u skipped: "
           "target-in-range %u unrelocatable %u sigreturn %u rip-rel %u\n",
           name, (unsigned long)s.file_offset, (unsigned long)s.file_size, s.rel8_patched,
           s.rel8_found, s.rel32_patched, s.rel32_found, s.syscall_patched, s.syscall_found,
           s.skipped[0], s.skipped[1], s.skipped[2], s.skipped[3]);
  }
  EXPECT_GT(p8, 0u);
  EXPECT_GT(p32, 0u);
  EXPECT_EQ(r.sites.size(), p8 + p32 + psys + pcpuid);

  ZydisDecoder d = make_decoder();
  std::vector<uint64_t> targets = elf.branch_targets();
  uint64_t prev_end = 0;
  for (const BranchSite& s : r.sites) {
    ASSERT_GE(s.start, prev_end);
    prev_end = s.end();
    ASSERT_GE(s.length, 5);
    ZydisDecodedInstruction in;
    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, elf.bytes.data() + s.jcc_offset(),
                                                           elf.bytes.size() - s.jcc_offset(), &in)));
    ASSERT_EQ(in.length, s.jcc_length);
    if (s.form == StubForm::kSyscall) {
      ASSERT_EQ(in.mnemonic, ZYDIS_MNEMONIC_SYSCALL) << std::hex << s.jcc_offset();
    } else if (s.form == StubForm::kCpuid) {
      ASSERT_EQ(in.mnemonic, ZYDIS_MNEMONIC_CPUID) << std::hex << s.jcc_offset();
    } else if (s.form == StubForm::kLoop) {
      ASSERT_TRUE(in.mnemonic == ZYDIS_MNEMONIC_LOOP || in.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
                  in.mnemonic == ZYDIS_MNEMONIC_LOOPNE || in.mnemonic == ZYDIS_MNEMONIC_JRCXZ)
          << std::hex << s.jcc_offset();
      EXPECT_EQ(s.taken, int64_t(s.jcc_offset() + s.jcc_length) + in.raw.imm[0].value.s);
    } else {
      ASSERT_TRUE(is_jcc(in)) << std::hex << s.jcc_offset();
      ASSERT_EQ(in.raw.imm[0].size == 32, s.rel32);
      // The taken target, recomputed from the bytes (same segment frame).
      EXPECT_EQ(s.taken, int64_t(s.jcc_offset() + s.jcc_length) + in.raw.imm[0].value.s);
    }
    uint64_t at = s.start;
    for (int i = 0; i < s.num_relocated + s.num_after; ++i) {
      if (i == s.num_relocated) at += s.jcc_length;  // then those after it
      const RelocatedInsn& ri = s.relocated[i];
      ASSERT_EQ(ri.offset, at);
      ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, elf.bytes.data() + at,
                                                             elf.bytes.size() - at, &in)));
      ASSERT_EQ(in.length, ri.length);
      EXPECT_NE(in.meta.category, ZYDIS_CATEGORY_NOP);
      EXPECT_NE(in.meta.category, ZYDIS_CATEGORY_COND_BR);
      EXPECT_NE(in.meta.category, ZYDIS_CATEGORY_UNCOND_BR);
      EXPECT_NE(in.meta.category, ZYDIS_CATEGORY_CALL);
      EXPECT_NE(in.meta.category, ZYDIS_CATEGORY_RET);
      EXPECT_NE(in.mnemonic, ZYDIS_MNEMONIC_SYSCALL);
      EXPECT_NE(in.mnemonic, ZYDIS_MNEMONIC_ENDBR64);
      at += ri.length;
    }
    if (s.form == StubForm::kCountBeforeSetter) {
      ASSERT_GT(s.num_relocated, 0);
      const RelocatedInsn& ri = s.relocated[s.num_relocated - 1];
      ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, elf.bytes.data() + ri.offset,
                                                             ri.length, &in)));
      ASSERT_TRUE(in.cpu_flags);
      EXPECT_EQ(in.cpu_flags->tested, 0u);
      const ZydisAccessedFlags& f = *in.cpu_flags;
      const ZydisAccessedFlagsMask all = ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF |
                                         ZYDIS_CPUFLAG_ZF | ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF;
      EXPECT_EQ((f.modified | f.set_0 | f.set_1 | f.undefined) & all, all);
      ++formA;
    }
    auto it = std::upper_bound(targets.begin(), targets.end(), s.start);
    ASSERT_TRUE(it == targets.end() || *it >= s.end())
        << "branch target " << std::hex << *it << " inside site " << s.start;
  }
  printf("[ %s ] scan %.1f ms: rel8 patched %lu/%lu, rel32 patched %lu/%lu, form A %lu, syscall "
         "patched %lu/%lu, cpuid patched %lu; %lu possible targets, %lu landing pads\n",
         name, ms, (unsigned long)p8, (unsigned long)f8, (unsigned long)p32, (unsigned long)f32,
         (unsigned long)formA, (unsigned long)psys, (unsigned long)fsys, (unsigned long)pcpuid,
         (unsigned long)r.possible_targets, (unsigned long)r.landing_pads);
  if (result) *result = std::move(r);
}

TEST(BranchSites, ScanLibc) {
  ScanResult r;
  check_scan("/lib/x86_64-linux-gnu/libc.so.6", "libc", &r);
  if (IsSkipped()) return;
  // libc makes its syscalls itself: most of them become sites.
  uint64_t found = 0, patched = 0;
  for (const SegmentStats& s : r.segments) {
    found += s.syscall_found;
    patched += s.syscall_patched;
  }
  EXPECT_GT(found, 100u);
  EXPECT_GT(patched * 10, found * 8) << patched << " of " << found;
}
TEST(BranchSites, ScanPython) { check_scan("/usr/bin/python3.11", "python3.11"); }
TEST(BranchSites, ScanLibstdcxxFindsLandingPads) {
  ScanResult r;
  check_scan("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "libstdc++", &r);
  if (!IsSkipped()) {
    EXPECT_GT(r.landing_pads, 1000u);
  }
}

TEST(BranchSites, RejectsGarbage) {
  ScanResult r;
  std::string err;
  std::string junk(4096, '\x7f');
  EXPECT_FALSE(scan_elf(u8(junk), junk.size(), &r, &err));
  EXPECT_FALSE(scan_elf(u8(junk), 3, &r, &err));
  // A truncated real file must not crash (it may succeed with fewer sites).
  std::string libc = read_whole("/lib/x86_64-linux-gnu/libc.so.6");
  if (libc.empty()) GTEST_SKIP() << "SKIPPED: no libc";
  for (size_t n : {size_t(64), size_t(100), size_t(4096), libc.size() / 2})
    scan_elf(u8(libc), n, &r, &err);
}

// Finds a free, 2 GiB-reachable RWX area near `near`.
void* map_near(uint64_t near, size_t size) {
  for (int64_t k = 1; k < 64; ++k) {
    for (int sign : {1, -1}) {
      uint64_t want = ((near & ~uint64_t{0xfffff}) + sign * k * (16 << 20));
      void* p = mmap(reinterpret_cast<void*>(want), size, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == reinterpret_cast<void*>(want)) return p;
      if (p != MAP_FAILED) munmap(p, size);
    }
  }
  return nullptr;
}

// The program's own mapping: where the section of the samples lives and the
// bias of its executable segment.
struct Self {
  Elf elf;
  ScanResult scan;
  uint64_t lo = 0, hi = 0;  // runtime bounds of rrx_samples
  int64_t bias = 0;         // runtime = file offset + bias
};

int phdr_cb(dl_phdr_info* info, size_t, void* data) {
  *static_cast<uint64_t*>(data) = info->dlpi_addr;
  return 1;  // the first one is the main program
}

bool load_self(Self* s) {
  if (!s->elf.load("/proc/self/exe")) return false;
  std::string err;
  if (!scan_elf(u8(s->elf.bytes), s->elf.bytes.size(), &s->scan, &err)) return false;
  uint64_t load_bias = 0;
  dl_iterate_phdr(phdr_cb, &load_bias);
  s->lo = reinterpret_cast<uint64_t>(__start_rrx_samples);
  s->hi = reinterpret_cast<uint64_t>(__stop_rrx_samples);
  for (const SegmentStats& seg : s->scan.segments) {
    uint64_t b = load_bias + seg.vaddr - seg.file_offset;
    if (s->lo >= seg.file_offset + b && s->hi <= seg.file_offset + seg.file_size + b) {
      s->bias = static_cast<int64_t>(b);
      return true;
    }
  }
  return false;
}

// Counts, by single-stepping a forked child through sample_run_all, how
// often each conditional branch in [lo, hi) executes. Independent of the
// patcher: Zydis decides what a jcc is, the cpu what executes.
std::map<uint64_t, uint64_t> count_jccs_by_stepping(uint64_t lo, uint64_t hi) {
  std::map<uint64_t, uint64_t> counts;
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    sample_results r;
    sample_run_all(&r);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  ZydisDecoder d = make_decoder();
  std::map<uint64_t, bool> jcc_at;
  for (;;) {
    if (ptrace(PTRACE_SINGLESTEP, pid, nullptr, nullptr) != 0) break;
    if (waitpid(pid, &status, 0) != pid || WIFEXITED(status) || WIFSIGNALED(status)) break;
    user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
    uint64_t pc = regs.rip;
    if (pc < lo || pc >= hi) continue;
    auto it = jcc_at.find(pc);
    if (it == jcc_at.end()) {
      ZydisDecodedInstruction in;
      bool j = ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, reinterpret_cast<void*>(pc), 15, &in)) &&
               is_jcc(in);
      it = jcc_at.emplace(pc, j).first;
    }
    if (it->second) counts[pc]++;
  }
  return counts;
}

// SIGTRAP handler state for the trap test.
volatile struct ::rrx_tick_page* g_page;
struct TrapSeen { uint64_t rip, ticks, target; };
std::vector<TrapSeen>* g_traps;
uint64_t g_step;
int g_foreign_traps;

void on_sigtrap(int, siginfo_t*, void* uc_v) {
  auto* uc = static_cast<ucontext_t*>(uc_v);
  if (g_page->trap_pending != 1) { ++g_foreign_traps; return; }
  g_page->trap_pending = 0;
  uint64_t ticks = rrx_tick_count(g_page);
  g_traps->push_back({static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RIP]), ticks, g_page->target});
  rrx_tick_set_target(g_page, ticks + g_step);
}

class PatchedSelf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static Self self;
    s_ = &self;
    if (!load_self(s_)) { setup_error_ = "cannot scan /proc/self/exe"; return; }
    void* page = mmap(reinterpret_cast<void*>(RRX_TICK_PAGE_ADDR), RRX_TICK_PAGE_SIZE,
                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != reinterpret_cast<void*>(RRX_TICK_PAGE_ADDR)) {
      setup_error_ = "tick page address 0x70000000 is taken";
      return;
    }
    g_page = rrx_tick_page();
    g_page->target = UINT64_MAX;
    g_page->count = 1;  // ticks 0
    sample_run_all(&before_);
    // Count before patching: the child steps the original code.
    stepped_ = new std::map<uint64_t, uint64_t>(count_jccs_by_stepping(s_->lo, s_->hi));

    // (The samples make no syscall; test_syscall_sites.cc runs those.)
    for (const BranchSite& b : s_->scan.sites)
      if (b.start + s_->bias >= s_->lo && b.end() + s_->bias <= s_->hi && !calls_engine(b.form))
        sites_.push_back(b);
    stub_area_ = map_near(s_->lo, 1 << 20);
    if (!stub_area_) { setup_error_ = "no stub area within reach"; return; }
    EmitRequest req;
    req.sites = sites_.data();
    req.num_sites = sites_.size();
    req.bias = s_->bias;
    req.file = u8(s_->elf.bytes);
    req.file_size = s_->elf.bytes.size();
    req.stub_base = reinterpret_cast<uint64_t>(stub_area_);
    req.stub_capacity = 1 << 20;
    emitted_ = new EmitResult;
    emit_stubs(req, emitted_);
    memcpy(stub_area_, emitted_->stubs.data(), emitted_->stubs.size());
    uint64_t plo = s_->lo & ~uint64_t{4095}, phi = (s_->hi + 4095) & ~uint64_t{4095};
    mprotect(reinterpret_cast<void*>(plo), phi - plo, PROT_READ | PROT_WRITE | PROT_EXEC);
    for (const CodeWrite& w : emitted_->writes) memcpy(reinterpret_cast<void*>(w.addr), w.bytes.data(), w.bytes.size());
    mprotect(reinterpret_cast<void*>(plo), phi - plo, PROT_READ | PROT_EXEC);
    map_ = new PatchMap;
    map_->add(emitted_->entries);
  }
  void SetUp() override {
    if (!setup_error_.empty()) GTEST_SKIP() << "SKIPPED: " << setup_error_;
  }

  static uint64_t expected_ticks() {
    std::set<uint64_t> patched;
    for (const PatchEntry& e : emitted_->entries) patched.insert(e.jcc_start());
    uint64_t n = 0;
    for (auto& [pc, c] : *stepped_)
      if (patched.count(pc)) n += c;
    return n;
  }

  static inline Self* s_;
  static inline std::string setup_error_;
  static inline sample_results before_;
  static inline std::map<uint64_t, uint64_t>* stepped_;
  static inline std::vector<BranchSite> sites_;
  static inline void* stub_area_;
  static inline EmitResult* emitted_;
  static inline PatchMap* map_;
};

bool same(const sample_results& a, const sample_results& b) {
  return a.sum == b.sum && a.collatz == b.collatz && a.sw == b.sw && a.cmp == b.cmp &&
         a.longb == b.longb && a.adc == b.adc && a.three == b.three && a.riprel == b.riprel &&
         a.flag_free == b.flag_free;
}

TEST_F(PatchedSelf, CountsEveryPatchedBranchAndComputesTheSame) {
  ASSERT_FALSE(emitted_->entries.empty());
  EXPECT_TRUE(emitted_->unpatched.empty());
  uint64_t executed_jccs = 0, executed_unpatched = 0;
  std::set<uint64_t> patched;
  for (const PatchEntry& e : emitted_->entries) patched.insert(e.jcc_start());
  for (auto& [pc, c] : *stepped_) {
    executed_jccs += c;
    if (!patched.count(pc)) {
      executed_unpatched += c;
      printf("  unpatched jcc at +%#lx ran %lu times\n", (unsigned long)(pc - s_->lo), (unsigned long)c);
    }
  }
  int forms[2] = {0, 0}, rel32 = 0, moved_after = 0;
  for (const BranchSite& b : sites_) {
    forms[int(b.form)]++;
    rel32 += b.rel32;
    moved_after += b.num_after > 0;
  }
  printf("  samples: %zu sites (%d form A, %d form B, %d rel32, %d moving instructions after the "
         "jcc), %zu writes; %lu jccs executed, %lu of them unpatched\n",
         sites_.size(), forms[0], forms[1], rel32, moved_after, emitted_->writes.size(),
         (unsigned long)executed_jccs, (unsigned long)executed_unpatched);
  EXPECT_GT(forms[0], 0);
  EXPECT_GT(forms[1], 0);
  EXPECT_GT(rel32, 0);
  EXPECT_GT(moved_after, 0);
  ASSERT_GT(expected_ticks(), 1000u);

  rrx_tick_set_target(g_page, UINT64_MAX);
  g_page->count = 0 - UINT64_MAX;  // ticks 0
  sample_results after;
  sample_run_all(&after);
  EXPECT_TRUE(same(before_, after));
  EXPECT_EQ(after.adc, before_.adc);
  EXPECT_EQ(rrx_tick_count(g_page), expected_ticks());
  EXPECT_EQ(g_page->trap_pending, 0u);
  // Again: the stubs have no state of their own.
  sample_run_all(&after);
  EXPECT_TRUE(same(before_, after));
  EXPECT_EQ(rrx_tick_count(g_page), 2 * expected_ticks());
}

TEST_F(PatchedSelf, TrapsExactlyAtTheTarget) {
  struct sigaction sa = {}, old;
  sa.sa_sigaction = on_sigtrap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, &old);
  std::vector<TrapSeen> traps;
  g_traps = &traps;
  const uint64_t total = expected_ticks();
  g_step = total / 7 + 3;
  g_page->target = UINT64_MAX;
  g_page->count = 1;
  rrx_tick_set_target(g_page, 5);  // first trap at tick 5, then every g_step
  sample_results after;
  sample_run_all(&after);
  sigaction(SIGTRAP, &old, nullptr);
  EXPECT_TRUE(same(before_, after));
  EXPECT_EQ(g_foreign_traps, 0);
  EXPECT_EQ(rrx_tick_count(g_page), total);
  ASSERT_EQ(traps.size(), 1 + (total - 5) / g_step);
  const uint64_t stubs = reinterpret_cast<uint64_t>(stub_area_);
  for (size_t i = 0; i < traps.size(); ++i) {
    EXPECT_EQ(traps[i].ticks, 5 + i * g_step);
    EXPECT_EQ(traps[i].target, traps[i].ticks);
    // rip is just after an int3 of a stub, and that is glue.
    ASSERT_GE(traps[i].rip, stubs + 1);
    ASSERT_LT(traps[i].rip, stubs + emitted_->stubs.size());
    EXPECT_EQ(emitted_->stubs[traps[i].rip - 1 - stubs], 0xcc);
    PatchMap::Translation t = map_->to_original(traps[i].rip);
    EXPECT_TRUE(t.in_glue);
    EXPECT_GE(t.orig_pc, s_->lo);
    EXPECT_LT(t.orig_pc, s_->hi);
  }
  // Now a trap every few ticks, so that both stub forms trap.
  traps.clear();
  g_step = 7;
  g_page->target = UINT64_MAX;
  g_page->count = 1;
  rrx_tick_set_target(g_page, 1);
  sigaction(SIGTRAP, &sa, &old);
  sample_run_all(&after);
  sigaction(SIGTRAP, &old, nullptr);
  EXPECT_TRUE(same(before_, after));
  EXPECT_EQ(rrx_tick_count(g_page), total);
  ASSERT_EQ(traps.size(), 1 + (total - 1) / g_step);
  // (form A, form B, a chained stub's trap block apart)
  int trapped_in[3] = {0, 0, 0};
  for (size_t i = 0; i < traps.size(); ++i) {
    ASSERT_EQ(traps[i].ticks, 1 + i * g_step);
    for (const PatchEntry& e : map_->entries()) {
      const uint64_t trap = e.stub_start + e.trap_offset;
      if (e.chained && traps[i].rip > trap && traps[i].rip <= trap + kChainTrapBytes)
        trapped_in[2]++;
      else if (!e.chained && traps[i].rip > e.stub_start && traps[i].rip <= e.stub_end())
        trapped_in[int(e.form)]++;
    }
  }
  EXPECT_GT(trapped_in[0], 0);
  EXPECT_GT(trapped_in[1], 0);
  EXPECT_GT(trapped_in[2], 0);
  EXPECT_EQ(trapped_in[0] + trapped_in[1] + trapped_in[2], int(traps.size()));
  g_page->target = UINT64_MAX;
  g_page->count = 1;
}

// The stubs as Zydis decodes them, instruction by instruction.
TEST_F(PatchedSelf, StubEncodings) {
  ZydisDecoder d = make_decoder();
  int checked[5] = {0, 0, 0, 0, 0};  // form A, form B, chained, ending in jmp, in ret
  const uint64_t base = reinterpret_cast<uint64_t>(stub_area_);
  auto decode_at = [&](uint64_t addr, uint32_t len, auto* insns, auto* addrs) {
    for (uint32_t off = 0; off < len;) {
      ZydisDecodedInstruction in;
      ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, emitted_->stubs.data() + (addr - base) + off,
                                               len - off, &in, ops)))
        return false;
      insns->push_back({in, std::vector<ZydisDecodedOperand>(ops, ops + in.operand_count_visible)});
      addrs->push_back(addr + off);
      off += in.length;
    }
    return true;
  };
  for (const PatchEntry& e : emitted_->entries) {
    const StubLayout L = stub_layout(e);
    std::vector<std::pair<ZydisDecodedInstruction, std::vector<ZydisDecodedOperand>>> insns;
    std::vector<uint64_t> addrs;
    ASSERT_TRUE(decode_at(e.stub_start, L.length, &insns, &addrs));
    // A chained stub's trap block, apart, goes after the stub's own code.
    if (e.chained) ASSERT_TRUE(decode_at(e.stub_start + e.trap_offset, kChainTrapBytes, &insns, &addrs));
    auto target = [&](size_t i) {
      ZyanU64 a = 0;
      EXPECT_TRUE(ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insns[i].first, &insns[i].second[0], addrs[i], &a)));
      return a;
    };
    auto is_abs_mem = [&](size_t i, int op, uint64_t addr) {
      const ZydisDecodedOperand& o = insns[i].second[op];
      return o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.mem.base == ZYDIS_REGISTER_NONE &&
             o.mem.index == ZYDIS_REGISTER_NONE && uint64_t(o.mem.disp.value) == addr;
    };
    auto is_rcx = [&](size_t i, int op) {
      return insns[i].second[op].type == ZYDIS_OPERAND_TYPE_REGISTER && insns[i].second[op].reg.value == ZYDIS_REGISTER_RCX;
    };
    const uint64_t P = RRX_TICK_PAGE_ADDR;
    size_t i = e.form == StubForm::kCountBeforeSetter ? e.num_relocated - 1 : e.num_relocated;
    const uint64_t trap = e.stub_start + (e.chained ? e.trap_offset : int64_t{L.trap_at});
    const uint64_t resume = e.stub_start + L.resume_at;
    if (e.form == StubForm::kCountBeforeSetter) {
      ASSERT_EQ(insns.size(), i + e.num_after +
                                  (e.chained ? 7 + e.num_gap + (!e.falls_through && e.transfer == GapTransfer::kNone)
                                             : 8));
      EXPECT_EQ(insns[i].first.mnemonic, ZYDIS_MNEMONIC_ADD);
      EXPECT_TRUE(is_abs_mem(i, 0, P));
      EXPECT_EQ(insns[i].first.operand_width, 64);
      EXPECT_EQ(insns[i].second[1].imm.value.u, 1u);
      EXPECT_EQ(insns[i + 1].first.mnemonic, ZYDIS_MNEMONIC_JZ);
      EXPECT_EQ(target(i + 1), trap);
      EXPECT_EQ(addrs[i + 2], resume);
      i += 3;  // past the setter
      checked[0]++;
    } else {
      ASSERT_EQ(insns.size(), i + 12 + e.num_after);
      EXPECT_EQ(insns[i].first.mnemonic, ZYDIS_MNEMONIC_MOV);
      EXPECT_TRUE(is_abs_mem(i, 0, P + 32) && is_rcx(i, 1));
      EXPECT_TRUE(is_rcx(i + 1, 0) && is_abs_mem(i + 1, 1, P));
      EXPECT_EQ(insns[i + 2].first.mnemonic, ZYDIS_MNEMONIC_LEA);
      EXPECT_TRUE(is_rcx(i + 2, 0) && insns[i + 2].second[1].mem.base == ZYDIS_REGISTER_RCX &&
                  insns[i + 2].second[1].mem.disp.value == 1);
      EXPECT_TRUE(is_abs_mem(i + 3, 0, P) && is_rcx(i + 3, 1));
      EXPECT_EQ(insns[i + 4].first.mnemonic, ZYDIS_MNEMONIC_JRCXZ);
      EXPECT_EQ(target(i + 4), trap);
      EXPECT_TRUE(is_rcx(i + 5, 0) && is_abs_mem(i + 5, 1, P + 32));
      EXPECT_EQ(addrs[i + 6], resume);
      i += 6;
      checked[1]++;
    }
    // jcc, [relocated after it,] jmp E, [restore rcx,] movq $1
    // trap_pending, int3, jmp resume.
    uint32_t jcc_in_range = 0;
    for (int r = 0; r < e.num_relocated; ++r) jcc_in_range += e.relocated_length[r];
    EXPECT_TRUE(is_jcc(insns[i].first));
    EXPECT_EQ(insns[i].first.opcode,
              0x80 | (e.original[jcc_in_range + e.jcc_length - (e.jcc_length == 2 ? 2 : 5)] & 0xf))
        << "condition";
    for (int r = 0; r < e.num_after; ++r) {
      EXPECT_EQ(addrs[i + 1 + r], e.stub_start + L.after_at[r]);
      EXPECT_EQ(insns[i + 1 + r].first.length, e.relocated_length[e.num_relocated + r]);
    }
    i += e.num_after;
    if (e.chained) {
      // Copies of the gap, then the next stub (or a jump to the gap's end).
      uint64_t gap = e.orig_end();
      for (int g = 0; g < e.num_gap; gap += e.gap_length[g++]) {
        EXPECT_EQ(addrs[i + 1 + g], e.stub_start + L.gap_at[g]);
        if (e.transfer == GapTransfer::kJmp && g == e.num_gap - 1) {
          // The program's jmp, to the same place.
          EXPECT_EQ(insns[i + 1 + g].first.mnemonic, ZYDIS_MNEMONIC_JMP);
          ZydisDecodedInstruction orig;
          ZydisDecodedOperand orig_ops[ZYDIS_MAX_OPERAND_COUNT];
          ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, reinterpret_cast<void*>(gap), 15, &orig, orig_ops)));
          ZyanU64 to = 0;
          ASSERT_TRUE(ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&orig, &orig_ops[0], gap, &to)));
          EXPECT_EQ(target(i + 1 + g), to);
          checked[3]++;
          continue;
        }
        EXPECT_EQ(insns[i + 1 + g].first.length, e.gap_length[g]);
        EXPECT_EQ(emitted_->stubs[addrs[i + 1 + g] - base], *reinterpret_cast<const uint8_t*>(gap));
        if (e.transfer == GapTransfer::kRet && g == e.num_gap - 1) {
          EXPECT_EQ(insns[i + 1 + g].first.mnemonic, ZYDIS_MNEMONIC_RET);
          checked[4]++;
        }
      }
      i += e.num_gap;
      if (e.transfer != GapTransfer::kNone) {
        // nothing after the jmp or ret
      } else if (!e.falls_through) {
        ++i;
        EXPECT_EQ(insns[i].first.mnemonic, ZYDIS_MNEMONIC_JMP);
        EXPECT_EQ(target(i), e.gap_end());
      } else {
        // The next site's stub follows.
        const std::vector<PatchEntry>& all = map_->entries();
        auto next = std::find_if(all.begin(), all.end(),
                                 [&](const PatchEntry& n) { return n.orig_start == e.gap_end(); });
        ASSERT_NE(next, all.end());
        EXPECT_EQ(next->stub_start, e.stub_end());
      }
      checked[2]++;
    } else {
      EXPECT_EQ(insns[i + 1].first.mnemonic, ZYDIS_MNEMONIC_JMP);
      EXPECT_EQ(target(i + 1), e.orig_end());
      ++i;
    }
    EXPECT_EQ(addrs[i + 1], trap);
    i += 1;
    if (e.form == StubForm::kFlagFree) {
      EXPECT_TRUE(is_rcx(i, 0) && is_abs_mem(i, 1, P + 32));
      ++i;
    }
    EXPECT_EQ(insns[i].first.mnemonic, ZYDIS_MNEMONIC_MOV);
    EXPECT_TRUE(is_abs_mem(i, 0, P + 16));
    EXPECT_EQ(insns[i].first.operand_width, 64);
    EXPECT_EQ(insns[i].second[1].imm.value.u, 1u);
    EXPECT_EQ(insns[i + 1].first.mnemonic, ZYDIS_MNEMONIC_INT3);
    EXPECT_EQ(insns[i + 2].first.mnemonic, ZYDIS_MNEMONIC_JMP);
    EXPECT_EQ(target(i + 2), resume);
    EXPECT_EQ(i + 3, insns.size());
  }
  EXPECT_GT(checked[0], 0);
  EXPECT_GT(checked[1], 0);
  EXPECT_GT(checked[2], 0);
  EXPECT_GT(checked[3], 0);
  EXPECT_GT(checked[4], 0);
}

TEST_F(PatchedSelf, PatchMapTranslates) {
  const PatchMap& m = *map_;
  ZydisDecoder d = make_decoder();
  for (const PatchEntry& e : m.entries()) {
    const StubLayout L = stub_layout(e);
    // S runs at its copy in the stub (a breakpoint on it goes there).
    EXPECT_NE(m.to_real(e.orig_start), e.orig_start);
    EXPECT_EQ(m.to_original(*m.to_real(e.orig_start)).orig_pc, e.orig_start);
    EXPECT_EQ(m.to_original(e.orig_start).orig_pc, e.orig_start);
    EXPECT_TRUE(m.to_original(e.orig_start).in_glue);
    // Every original instruction in the range (those before the jcc, the
    // jcc, those after it) round-trips, and its copy has the same length
    // and first byte as the original.
    const int k = e.num_relocated, n = k + e.num_after;
    std::set<uint64_t> starts;
    uint64_t a = e.orig_start, jcc = 0;
    for (int i = 0; i <= n; ++i) {
      const bool is_jcc_here = i == k;
      const int r = i < k ? i : i - 1;  // index into relocated_length
      if (is_jcc_here) jcc = a;
      starts.insert(a);
      std::optional<uint64_t> real = m.to_real(a);
      ASSERT_TRUE(real);
      PatchMap::Translation t = m.to_original(*real);
      EXPECT_EQ(t.orig_pc, a);
      EXPECT_FALSE(t.in_glue);
      EXPECT_GE(*real, e.stub_start);
      ZydisDecodedInstruction in;
      ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, nullptr, reinterpret_cast<void*>(*real), 15, &in)));
      if (is_jcc_here) {
        EXPECT_TRUE(is_jcc(in));
      } else {
        EXPECT_EQ(in.length, e.relocated_length[r]);
        EXPECT_EQ(memcmp(reinterpret_cast<void*>(*real), e.original + (a - e.orig_start), 1), 0);
      }
      a += is_jcc_here ? e.jcc_length : e.relocated_length[r];
    }
    EXPECT_EQ(a, e.orig_end());
    // A byte inside (S, E) that starts no original instruction has no image.
    for (uint64_t p = e.orig_start + 1; p < e.orig_end(); ++p) {
      if (!starts.count(p)) {
        EXPECT_EQ(m.to_real(p), std::nullopt);
      }
    }
    // Glue.
    PatchMap::Translation c = m.to_original(e.stub_start + L.count_at);
    EXPECT_TRUE(c.in_glue);
    EXPECT_EQ(c.orig_pc, e.form == StubForm::kFlagFree ? jcc : jcc - e.relocated_length[e.num_relocated - 1]);
    if (!e.chained || (!e.falls_through && e.transfer == GapTransfer::kNone)) {
      PatchMap::Translation x = m.to_original(e.stub_start + L.exit_jmp_at);
      EXPECT_TRUE(x.in_glue);
      EXPECT_EQ(x.orig_pc, e.gap_end());
      EXPECT_TRUE(m.to_original(e.stub_start + L.length - 1).in_glue);
    }
    const uint64_t trap = e.stub_start + (e.chained ? e.trap_offset : int64_t{L.trap_at});
    for (uint64_t t = trap; t < trap + (e.chained ? kChainTrapBytes : 1); ++t) {
      PatchMap::Translation tr = m.to_original(t);
      EXPECT_TRUE(tr.in_glue);
      EXPECT_EQ(tr.orig_pc, c.orig_pc);
    }
    // A chained stub's gap: each instruction runs in place and at its copy.
    uint64_t g_at = e.orig_end();
    for (int g = 0; g < e.num_gap; g_at += e.gap_length[g++]) {
      EXPECT_EQ(m.to_real(g_at), g_at);
      EXPECT_EQ(m.gap_copy(g_at), e.stub_start + L.gap_at[g]);
      PatchMap::Translation t = m.to_original(e.stub_start + L.gap_at[g]);
      EXPECT_EQ(t.orig_pc, g_at);
      EXPECT_FALSE(t.in_glue);
      if (e.gap_length[g] > 1) EXPECT_EQ(m.gap_copy(g_at + 1), std::nullopt);
    }
    if (!e.chained) EXPECT_EQ(m.gap_copy(e.orig_end()), std::nullopt);
    // Inside (S, E) but not an instruction start: no image; the byte maps to
    // itself for to_original.
    EXPECT_EQ(m.to_original(e.orig_start + 1).orig_pc, e.orig_start + 1);
    EXPECT_FALSE(m.to_original(e.orig_start + 1).in_glue);
  }
  // Outside everything.
  EXPECT_EQ(m.to_original(12345).orig_pc, 12345u);
  EXPECT_FALSE(m.to_original(12345).in_glue);
  EXPECT_EQ(m.to_real(12345), 12345u);

  // show_original on the patched section gives back the file's bytes.
  std::vector<uint8_t> now(reinterpret_cast<const uint8_t*>(s_->lo), reinterpret_cast<const uint8_t*>(s_->hi));
  const uint8_t* file = u8(s_->elf.bytes) + (s_->lo - s_->bias);
  EXPECT_NE(memcmp(now.data(), file, now.size()), 0);
  m.show_original(s_->lo, now.data(), now.size());
  EXPECT_EQ(memcmp(now.data(), file, now.size()), 0);
  // And on windows cutting ranges.
  for (size_t off = 0; off + 7 < now.size(); off += 5) {
    uint8_t buf[7];
    memcpy(buf, reinterpret_cast<const uint8_t*>(s_->lo + off), 7);
    m.show_original(s_->lo + off, buf, 7);
    ASSERT_EQ(memcmp(buf, file + off, 7), 0) << off;
  }
}

TEST_F(PatchedSelf, PatchMapSerializesAndRejectsCorruption) {
  std::string bytes = map_->serialize();
  PatchMap copy;
  ASSERT_TRUE(copy.deserialize(bytes));
  EXPECT_EQ(copy.serialize(), bytes);
  PatchMap forked = *map_;  // copyable
  EXPECT_EQ(forked.serialize(), bytes);
  for (const PatchEntry& e : map_->entries()) {
    EXPECT_EQ(copy.to_original(e.stub_start + 3).orig_pc, map_->to_original(e.stub_start + 3).orig_pc);
    EXPECT_EQ(copy.to_real(e.jcc_start()), map_->to_real(e.jcc_start()));
  }
  PatchMap bad = copy;
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string c = bytes;
    c[i] ^= 0x41;
    EXPECT_FALSE(bad.deserialize(c)) << i;
  }
  for (size_t n = 0; n < bytes.size(); n += 13) EXPECT_FALSE(bad.deserialize(bytes.substr(0, n)));
  EXPECT_FALSE(bad.deserialize(bytes + "x"));
  EXPECT_EQ(bad.serialize(), bytes);  // unchanged by failures

  // erase: a munmap of the first half of the section forgets its entries.
  uint64_t mid = (s_->lo + s_->hi) / 2;
  forked.erase(s_->lo, mid);
  for (const PatchEntry& e : forked.entries()) EXPECT_GE(e.orig_start + e.orig_length, mid);
  EXPECT_LT(forked.size(), map_->size());
  forked.erase(reinterpret_cast<uint64_t>(stub_area_), reinterpret_cast<uint64_t>(stub_area_) + (1 << 20));
  EXPECT_EQ(forked.size(), 0u);
}

TEST(StubEmitter, EmitsPythonQuickly) {
  std::string py = read_whole("/usr/bin/python3.11");
  if (py.empty()) GTEST_SKIP() << "SKIPPED: /usr/bin/python3.11 not present";
  ScanResult r;
  ASSERT_TRUE(scan_elf(u8(py), py.size(), &r));
  // Pretend it is mapped at 0x555500000000 (bias of its first exec segment)
  // with stubs right above.
  const SegmentStats& seg = r.segments[0];
  std::vector<BranchSite> in_seg;
  for (const BranchSite& b : r.sites)
    if (b.start >= seg.file_offset && b.end() <= seg.file_offset + seg.file_size) in_seg.push_back(b);
  EmitRequest req;
  req.sites = in_seg.data();
  req.num_sites = in_seg.size();
  req.bias = 0x555500000000 - int64_t(seg.file_offset);
  req.file = u8(py);
  req.file_size = py.size();
  req.stub_base = 0x555500000000 + seg.file_size + 0x100000;
  req.stub_capacity = 64 << 20;
  EmitResult out;
  auto t0 = std::chrono::steady_clock::now();
  emit_stubs(req, &out);
  double ms = ms_since(t0);
  PatchMap m;
  auto t1 = std::chrono::steady_clock::now();
  m.add(out.entries);
  double add_ms = ms_since(t1);
  printf("[ python3.11 ] emit %zu sites: %.2f ms, %zu stub bytes, %zu writes; PatchMap::add %.2f ms\n",
         in_seg.size(), ms, out.stubs.size(), out.writes.size(), add_ms);
  EXPECT_EQ(out.entries.size(), in_seg.size());
  EXPECT_TRUE(out.unpatched.empty());
  // Writes are sorted, disjoint, and each is the patch of its sites.
  for (size_t i = 1; i < out.writes.size(); ++i)
    EXPECT_GE(out.writes[i].addr, out.writes[i - 1].addr + out.writes[i - 1].bytes.size());
  // Too little stub space: the rest is reported, not dropped silently.
  req.stub_capacity = 4096;
  emit_stubs(req, &out);
  EXPECT_FALSE(out.unpatched.empty());
  EXPECT_EQ(out.entries.size() + out.unpatched.size(), in_seg.size());
  for (auto& u : out.unpatched) EXPECT_EQ(u.why, EmitSkip::kNoSpace);
  // Out of reach: stubs 4 GiB away.
  req.stub_capacity = 64 << 20;
  req.stub_base = 0x555500000000 + (uint64_t{4} << 30);
  emit_stubs(req, &out);
  EXPECT_TRUE(out.entries.empty());
  EXPECT_EQ(out.unpatched.size(), in_seg.size());
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/rrx-instrument-XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::string c = "rm -rf '" + path_ + "'"; (void)!system(c.c_str()); }
  const std::string& path() const { return path_; }
 private:
  std::string path_;
};

TEST(SiteCache, RoundTripAndCorruptionIgnored) {
  const std::string lib = "/lib/x86_64-linux-gnu/libc.so.6";
  if (access(lib.c_str(), R_OK) != 0) GTEST_SKIP() << "SKIPPED: no libc";
  TempDir tmp;
  const std::string dir = tmp.path() + "/a/b";
  ScanResult first, second, third;
  LoadOrScanStats st;
  std::string err;
  ASSERT_TRUE(load_or_scan(lib, &first, &err, dir, &st)) << err;
  EXPECT_FALSE(st.hit);
  EXPECT_TRUE(st.stored);
  printf("[ libc ] load_or_scan miss: scan %.1f ms, %zu sites\n", st.scan_ms, first.sites.size());
  struct stat sb;
  ASSERT_EQ(stat(dir.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0700u);
  std::string entry = dir + "/b-";
  for (unsigned char c : first.build_id) { char h[3]; snprintf(h, 3, "%02x", c); entry += h; }
  ASSERT_EQ(stat(entry.c_str(), &sb), 0) << entry;
  EXPECT_EQ(sb.st_mode & 0777, 0600u);

  ASSERT_TRUE(load_or_scan(lib, &second, &err, dir, &st));
  EXPECT_TRUE(st.hit);
  EXPECT_EQ(serialize_scan(first), serialize_scan(second));

  // Corrupt the entry in the middle: ignored, rescanned, rewritten.
  {
    int fd = open(entry.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, "garbage!", 8, sb.st_size / 2), 8);
    close(fd);
  }
  ASSERT_TRUE(load_or_scan(lib, &third, &err, dir, &st));
  EXPECT_FALSE(st.hit);
  EXPECT_EQ(serialize_scan(first), serialize_scan(third));
  ASSERT_TRUE(load_or_scan(lib, &third, &err, dir, &st));
  EXPECT_TRUE(st.hit);

  // The byte form refuses every truncation and bit flips.
  std::string b = serialize_scan(first);
  ScanResult r;
  for (size_t n = 0; n < b.size(); n += b.size() / 97 + 1) EXPECT_FALSE(deserialize_scan(b.substr(0, n), &r));
  for (size_t i = 0; i < b.size(); i += b.size() / 89 + 1) {
    std::string c = b;
    c[i] ^= 4;
    EXPECT_FALSE(deserialize_scan(c, &r));
  }
  EXPECT_TRUE(deserialize_scan(b, &r));
  EXPECT_FALSE(load_or_scan("/nonexistent/x", &r, &err, dir));
}

TEST(SiteCache, DefaultDir) {
  std::string saved_home = getenv("HOME") ? getenv("HOME") : "";
  setenv("RRX_CACHE_DIR", "/x/y", 1);
  EXPECT_EQ(default_cache_dir(), "/x/y");
  unsetenv("RRX_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/c", 1);
  EXPECT_EQ(default_cache_dir(), "/c/rrx/branch-sites");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/h", 1);
  EXPECT_EQ(default_cache_dir(), "/h/.cache/rrx/branch-sites");
  setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
}  // namespace rrx::instrument
