// Tests of syscall sites (backend/instrument/): which `syscall`s the
// scanner makes sites of, the exact stub bytes, the pc map around them,
// serialization, and stubs run for real in this process against a fake
// engine entry.
//
// The code under test is wrapped into a minimal ELF file built here: one
// read-only PT_LOAD for the headers and one executable PT_LOAD at file
// offset (and vaddr) kCodeOff holding the bytes, no section headers (the
// scanner then sweeps the whole segment) and no symbols, so the only
// possible targets are the direct branches in the bytes.
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "instrument/branch_sites.h"
#include "instrument/patch_file.h"
#include "instrument/patch_map.h"
#include "instrument/site_cache.h"
#include "instrument/stub_emitter.h"
#include "preload/syscallbuf_abi.h"

namespace rrx::instrument {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kCodeOff = 0x1000;

std::string make_elf(const Bytes& code) {
  std::string f(kCodeOff + code.size(), '\0');
  Elf64_Ehdr eh{};
  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  Elf64_Phdr ph[2] = {};
  ph[0].p_type = PT_LOAD;
  ph[0].p_flags = PF_R;
  ph[0].p_filesz = ph[0].p_memsz = kCodeOff;
  ph[1].p_type = PT_LOAD;
  ph[1].p_flags = PF_R | PF_X;
  ph[1].p_offset = ph[1].p_vaddr = kCodeOff;
  ph[1].p_filesz = ph[1].p_memsz = code.size();
  memcpy(f.data(), &eh, sizeof eh);
  memcpy(f.data() + sizeof eh, ph, sizeof ph);
  memcpy(f.data() + kCodeOff, code.data(), code.size());
  return f;
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

struct Scanned {
  std::string file;
  ScanResult r;
  std::vector<BranchSite> syscall_sites() const {
    std::vector<BranchSite> v;
    for (const BranchSite& s : r.sites)
      if (s.form == StubForm::kSyscall) v.push_back(s);
    return v;
  }
  uint32_t skipped(SkipReason why) const { return r.segments.at(0).skipped[static_cast<int>(why)]; }
};

Scanned scan(const Bytes& code) {
  Scanned s;
  s.file = make_elf(code);
  std::string err;
  EXPECT_TRUE(scan_elf(u8(s.file), s.file.size(), &s.r, &err)) << err;
  EXPECT_EQ(s.r.segments.size(), 1u);
  return s;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
  return b;
}

// Instructions used below.
const Bytes kRet = {0xc3};
const Bytes kSyscall = {0x0f, 0x05};
const Bytes kMovGetpid = {0xb8, 0x27, 0x00, 0x00, 0x00};   // mov $39,%eax
const Bytes kXorEax = {0x31, 0xc0};                         // xor %eax,%eax
const Bytes kMovRdiRsi = {0x48, 0x89, 0xfe};                // mov %rdi,%rsi
const Bytes kMovEdiEax = {0x89, 0xf8};                      // mov %edi,%eax
const Bytes kCmpErr = {0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}; // cmp $-4095,%rax
const Bytes kAddRax1 = {0x48, 0x83, 0xc0, 0x01};            // add $1,%rax

TEST(SyscallSites, MovBeforeSyscall) {
  Scanned s = scan(cat({kRet, kMovGetpid, kSyscall, kRet}));
  auto sites = s.syscall_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].start, kCodeOff + 1);
  EXPECT_EQ(sites[0].length, 7);
  EXPECT_EQ(sites[0].num_relocated, 1);
  EXPECT_EQ(sites[0].num_after, 0);
  EXPECT_EQ(sites[0].jcc_length, 2);
  EXPECT_EQ(sites[0].jcc_offset(), kCodeOff + 6);
  EXPECT_EQ(sites[0].relocated[0].offset, kCodeOff + 1);
  EXPECT_EQ(sites[0].relocated[0].length, 5);
  EXPECT_EQ(s.r.segments[0].syscall_found, 1u);
  EXPECT_EQ(s.r.segments[0].syscall_patched, 1u);
}

TEST(SyscallSites, XorNeedsAnotherNeighbourBefore) {
  Scanned s = scan(cat({kRet, kMovRdiRsi, kXorEax, kSyscall, kRet}));
  auto sites = s.syscall_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].start, kCodeOff + 1);
  EXPECT_EQ(sites[0].length, 7);
  EXPECT_EQ(sites[0].num_relocated, 2);
  EXPECT_EQ(sites[0].num_after, 0);
}

TEST(SyscallSites, RelocatesAfterWhenBeforeIsTooShort) {
  Scanned s = scan(cat({kRet, kXorEax, kSyscall, kCmpErr, kRet}));
  auto sites = s.syscall_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].start, kCodeOff + 1);
  EXPECT_EQ(sites[0].length, 2 + 2 + 6);
  EXPECT_EQ(sites[0].num_relocated, 1);
  EXPECT_EQ(sites[0].num_after, 1);
  EXPECT_EQ(sites[0].relocated[1].offset, kCodeOff + 5);
  EXPECT_EQ(sites[0].relocated[1].length, 6);
}

TEST(SyscallSites, NothingToMove) {
  Scanned s = scan(cat({kRet, kXorEax, kSyscall, kRet}));
  EXPECT_TRUE(s.syscall_sites().empty());
  EXPECT_EQ(s.r.segments[0].syscall_found, 1u);
  EXPECT_EQ(s.r.segments[0].syscall_patched, 0u);
  EXPECT_EQ(s.skipped(SkipReason::kUnrelocatable), 1u);
}

TEST(SyscallSites, TargetInsideRefused) {
  // jmp +2 lands on the syscall: the xor before it cannot be moved, and the
  // ret after it cannot either.
  Scanned s = scan(cat({{0xeb, 0x02}, kXorEax, kSyscall, kRet}));
  EXPECT_TRUE(s.syscall_sites().empty());
  EXPECT_EQ(s.skipped(SkipReason::kTargetInRange), 1u);
  // A target right after the syscall keeps the cmp out: still refused.
  Scanned t = scan(cat({{0xeb, 0x04}, kXorEax, kSyscall, kCmpErr, kRet}));
  EXPECT_TRUE(t.syscall_sites().empty());
  EXPECT_EQ(t.skipped(SkipReason::kTargetInRange), 1u);
}

TEST(SyscallSites, TargetAtStartAllowed) {
  // jmp +0 lands on the mov, which becomes S.
  Scanned s = scan(cat({{0xeb, 0x00}, kMovGetpid, kSyscall, kRet}));
  auto sites = s.syscall_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].start, kCodeOff + 2);
  // A target on the syscall itself with the cmp after it: S is the syscall.
  Scanned t = scan(cat({{0xeb, 0x02}, kXorEax, kSyscall, kCmpErr, kRet}));
  sites = t.syscall_sites();
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].start, kCodeOff + 4);
  EXPECT_EQ(sites[0].num_relocated, 0);
  EXPECT_EQ(sites[0].num_after, 1);
}

TEST(SyscallSites, SigreturnRefused) {
  Scanned s = scan(cat({kRet, {0xb8, 0x0f, 0, 0, 0}, kSyscall, kRet}));  // mov $15,%eax
  EXPECT_TRUE(s.syscall_sites().empty());
  EXPECT_EQ(s.skipped(SkipReason::kSigreturn), 1u);
  Scanned t = scan(cat({kRet, {0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0}, kSyscall, kRet}));  // mov $15,%rax
  EXPECT_TRUE(t.syscall_sites().empty());
  EXPECT_EQ(t.skipped(SkipReason::kSigreturn), 1u);
  // mov $15 into another register is no trampoline.
  Scanned u = scan(cat({kRet, {0x41, 0xb8, 0x0f, 0, 0, 0}, kSyscall, kRet}));  // mov $15,%r8d
  EXPECT_EQ(u.syscall_sites().size(), 1u);
}

TEST(SyscallSites, JccSitesKeepOut) {
  // The syscall site takes the cmp after the syscall; the jae after it
  // would need the cmp too and is left alone.
  Scanned s = scan(cat({kRet, kXorEax, kSyscall, kCmpErr, {0x73, 0x00}, kRet}));
  ASSERT_EQ(s.r.sites.size(), 1u);
  EXPECT_EQ(s.r.sites[0].form, StubForm::kSyscall);
  EXPECT_EQ(s.r.segments[0].rel8_found, 1u);
  EXPECT_EQ(s.r.segments[0].rel8_patched, 0u);
  // With room for both, both are sites, disjoint.
  Scanned t = scan(cat({kRet, kMovGetpid, kSyscall, kCmpErr, {0x73, 0x00}, kRet}));
  ASSERT_EQ(t.r.sites.size(), 2u);
  EXPECT_EQ(t.r.sites[0].form, StubForm::kSyscall);
  EXPECT_NE(t.r.sites[1].form, StubForm::kSyscall);
  EXPECT_LE(t.r.sites[0].end(), t.r.sites[1].start);
}

TEST(SyscallSites, StaticallyInstrumentedObjectsStillHaveThem) {
  // The marker note (name "rrx", type 1) in a PT_NOTE: no jcc sites.
  Bytes code = cat({kRet, kMovGetpid, kSyscall, kCmpErr, {0x73, 0x00}, kRet});
  std::string f = make_elf(code);
  Elf64_Ehdr eh;
  memcpy(&eh, f.data(), sizeof eh);
  eh.e_phnum = 3;
  memcpy(f.data(), &eh, sizeof eh);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = 0x800;
  note.p_filesz = 16;
  memcpy(f.data() + sizeof eh + 2 * sizeof(Elf64_Phdr), &note, sizeof note);
  const uint32_t hdr[3] = {4, 0, 1};
  memcpy(f.data() + 0x800, hdr, sizeof hdr);
  memcpy(f.data() + 0x80c, "rrx", 4);
  ScanResult r;
  ASSERT_TRUE(scan_elf(u8(f), f.size(), &r));
  EXPECT_TRUE(r.statically_instrumented);
  ASSERT_EQ(r.sites.size(), 1u);
  EXPECT_EQ(r.sites[0].form, StubForm::kSyscall);
}

// ---- Emitting ----

struct Emitted {
  Scanned s;
  EmitResult out;
};

Emitted emit(const Bytes& code, int64_t code_addr, uint64_t stub_base, uint64_t slot) {
  Emitted e;
  e.s = scan(code);
  auto sites = e.s.syscall_sites();
  EmitRequest req;
  req.sites = sites.data();
  req.num_sites = sites.size();
  req.bias = code_addr - static_cast<int64_t>(kCodeOff);
  req.file = u8(e.s.file);
  req.file_size = e.s.file.size();
  req.stub_base = stub_base;
  req.stub_capacity = 4096;
  req.site_entry_slot = slot;
  emit_stubs(req, &e.out);
  EXPECT_TRUE(e.out.unpatched.empty());
  return e;
}

void put32(Bytes* b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

TEST(SyscallStubs, ExactBytes) {
  const uint64_t code = 0x400000, stub = 0x500000;
  Emitted e = emit(cat({kRet, kMovGetpid, kSyscall, kRet}), code, stub, 0x12345678);
  ASSERT_EQ(e.out.entries.size(), 1u);
  const uint64_t S = code + 1, E = S + 7;
  Bytes want = cat({kMovGetpid,
                    {0x48, 0x8d, 0x64, 0x24, 0x80},
                    {0xff, 0x14, 0x25, 0x78, 0x56, 0x34, 0x12},
                    {0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00},
                    kSyscall,
                    {0xeb, 0x08},
                    {0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00},
                    {0xe9}});
  put32(&want, static_cast<uint32_t>(E - (stub + want.size() + 4)));
  EXPECT_EQ(e.out.stubs, want);
  ASSERT_EQ(e.out.writes.size(), 1u);
  EXPECT_EQ(e.out.writes[0].addr, S);
  Bytes patch = {0xe9};
  put32(&patch, static_cast<uint32_t>(stub - (S + 5)));
  patch.push_back(0xcc);
  patch.push_back(0xcc);
  EXPECT_EQ(e.out.writes[0].bytes, patch);
  const PatchEntry& p = e.out.entries[0];
  EXPECT_EQ(p.form, StubForm::kSyscall);
  EXPECT_EQ(p.stub_length(), want.size());
  EXPECT_TRUE(p.consistent());
  // The engine's handled return lands on the second lea.
  const StubLayout L = stub_layout(p);
  EXPECT_EQ(L.resume_at, 5u + 12u);
  EXPECT_EQ(want[L.resume_at + RRX_SITE_HANDLED_SKIP], 0x48);
  EXPECT_EQ(L.resume_at + RRX_SITE_HANDLED_SKIP + 8, want.size() - 5);
}

TEST(SyscallStubs, SlotOutOfReachRefused) {
  Scanned s = scan(cat({kRet, kMovGetpid, kSyscall, kRet}));
  auto sites = s.syscall_sites();
  EmitRequest req;
  req.sites = sites.data();
  req.num_sites = sites.size();
  req.bias = 0x400000 - static_cast<int64_t>(kCodeOff);
  req.file = u8(s.file);
  req.file_size = s.file.size();
  req.stub_base = 0x500000;
  req.stub_capacity = 4096;
  req.site_entry_slot = uint64_t{1} << 32;
  EmitResult out;
  emit_stubs(req, &out);
  EXPECT_TRUE(out.entries.empty());
  ASSERT_EQ(out.unpatched.size(), 1u);
  EXPECT_EQ(out.unpatched[0].why, EmitSkip::kOutOfReach);
}

TEST(SyscallStubs, RipRelativeNeighbourFixedUp) {
  // lea 0x100(%rip),%rsi; syscall: the copy must name the same address.
  const uint64_t code = 0x400000, stub = 0x7000000;
  Bytes lea = {0x48, 0x8d, 0x35, 0x00, 0x01, 0x00, 0x00};
  Emitted e = emit(cat({kRet, lea, kSyscall, kRet}), code, stub, RRX_SITE_ENTRY_SLOT);
  ASSERT_EQ(e.out.entries.size(), 1u);
  ASSERT_EQ(e.s.syscall_sites()[0].relocated[0].riprel_at, 3);
  int32_t disp;
  memcpy(&disp, e.out.stubs.data() + 3, 4);
  EXPECT_EQ(stub + 7 + disp, code + 1 + 7 + 0x100);
  // The default slot is the preload page's.
  uint32_t slot;
  memcpy(&slot, e.out.stubs.data() + 7 + 5 + 3, 4);
  EXPECT_EQ(slot, RRX_SITE_ENTRY_SLOT);
}

TEST(SyscallStubs, PatchMapTranslatesEveryOffset) {
  const uint64_t code = 0x400000, stub = 0x500000;
  // S: mov %edi,%eax (2); syscall (2); add $1,%rax (4); E.
  Emitted e = emit(cat({kRet, kMovEdiEax, kSyscall, kAddRax1, kRet}), code, stub, 0x1000);
  ASSERT_EQ(e.out.entries.size(), 1u);
  PatchMap m;
  m.add(e.out.entries);
  const uint64_t S = code + 1, SC = S + 2, AFTER = SC + 2, E = AFTER + 4;
  // Stub: mov 0..2, lea 2..7, call 7..14, R: lea 14..22, syscall 22..24,
  // jmp +8 24..26, lea 26..34, add 34..38, jmp E 38..43.
  ASSERT_EQ(e.out.stubs.size(), 43u);
  struct Want { uint32_t from, to; uint64_t orig; bool glue, after_syscall; bool inside; };
  const Want want[] = {
      {0, 2, S, false, false, true},        // mov copy (byte i -> S + i)
      {2, 3, SC, false, false, false},      // the stub's entry: where the syscall begins
      {3, 22, SC, true, false, false},      // lea, call, lea at R
      {22, 24, SC, false, false, true},     // the syscall copy
      {24, 26, AFTER, false, true, false},  // jmp +8
      {26, 34, AFTER, true, false, false},  // lea at R + 12
      {34, 38, AFTER, false, false, true},  // add copy
      {38, 43, E, true, false, false},      // jmp E
  };
  for (const Want& w : want) {
    for (uint32_t off = w.from; off < w.to; ++off) {
      PatchMap::Translation t = m.to_original(stub + off);
      EXPECT_EQ(t.orig_pc, w.orig + (w.inside ? off - w.from : 0)) << off;
      EXPECT_EQ(t.in_glue, w.glue) << off;
      EXPECT_EQ(t.after_syscall, w.after_syscall) << off;
      EXPECT_EQ(t.engine_return, off == 7 ? stub + 14 : 0) << off;
      EXPECT_EQ(t.site_entry, off == 2) << off;
    }
  }
  EXPECT_EQ(m.to_original(stub + 43).orig_pc, stub + 43);  // past the stub
  // Program side: S is the jmp (glue), the rest of the range is not code.
  EXPECT_TRUE(m.to_original(S).in_glue);
  EXPECT_EQ(m.to_real(S), stub + 0);  // the mov's copy
  // The syscall runs from the stub's entry: a breakpoint there stops calls
  // the engine takes too.
  EXPECT_EQ(m.to_real(SC), stub + 2);
  EXPECT_EQ(m.to_real(AFTER), stub + 34);
  EXPECT_EQ(m.to_real(S + 1), std::nullopt);
  EXPECT_EQ(m.to_real(SC + 1), std::nullopt);
  EXPECT_EQ(m.to_real(E), E);
  uint8_t now[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  m.show_original(S, now, sizeof now);
  Bytes orig = cat({kMovEdiEax, kSyscall, kAddRax1});
  EXPECT_EQ(memcmp(now, orig.data(), orig.size()), 0);
  EXPECT_EQ(now[8], 8);  // past E: untouched
}

TEST(SyscallStubs, SerializationRoundTrip) {
  const uint64_t code = 0x400000, stub = 0x500000;
  Emitted e = emit(cat({kRet, kXorEax, kSyscall, kCmpErr, kRet, kMovGetpid, kSyscall, kRet}), code,
                   stub, 0x1000);
  ASSERT_EQ(e.out.entries.size(), 2u);
  PatchMap m;
  m.add(e.out.entries);
  PatchMap copy;
  ASSERT_TRUE(copy.deserialize(m.serialize()));
  EXPECT_EQ(copy.serialize(), m.serialize());
  ASSERT_EQ(copy.entries().size(), 2u);
  EXPECT_EQ(copy.entries()[1].form, StubForm::kSyscall);
  for (uint64_t pc = stub; pc < stub + e.out.stubs.size(); ++pc) {
    EXPECT_EQ(copy.to_original(pc).orig_pc, m.to_original(pc).orig_pc);
    EXPECT_EQ(copy.to_original(pc).in_glue, m.to_original(pc).in_glue);
  }
  // A syscall entry whose "syscall" is not 2 bytes is corrupt.
  PatchEntry bad = e.out.entries[0];
  bad.jcc_length = 3;
  bad.orig_length += 1;
  EXPECT_FALSE(bad.consistent());
  PatchEntry bad_form = e.out.entries[0];
  bad_form.form = static_cast<StubForm>(5);  // after kLoop
  EXPECT_FALSE(bad_form.consistent());

  // Through a patch file.
  char path[] = "/tmp/rrx-syscall-stub-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  PatchFileLayout layout;
  std::string blob = build_patch_file(std::string(100, 'x'), std::string(e.out.stubs.begin(), e.out.stubs.end()),
                                      m, &layout);
  ASSERT_EQ(write(fd, blob.data(), blob.size()), static_cast<ssize_t>(blob.size()));
  close(fd);
  PatchMap read_back;
  std::string err;
  EXPECT_TRUE(read_patch_file(path, &layout, &read_back, &err)) << err;
  unlink(path);
  EXPECT_EQ(read_back.serialize(), m.serialize());

  // And the scan, through the site cache's format.
  ScanResult r;
  ASSERT_TRUE(deserialize_scan(serialize_scan(e.s.r), &r));
  ASSERT_EQ(r.sites.size(), e.s.r.sites.size());
  EXPECT_EQ(r.sites[0].form, StubForm::kSyscall);
  EXPECT_EQ(r.segments[0].syscall_found, 2u);
  EXPECT_EQ(r.segments[0].syscall_patched, 2u);
}

// ---- Running stubs in this process ----

// The fake engine page: the slot at +0, the fake entries' notes after it.
constexpr uint64_t kFakePage = 0x6ff00000;
struct FakePage {
  uint64_t slot;
  uint64_t seen_rax;
  uint64_t seen_rsp;
  uint64_t calls;
  uint64_t site_rsp;  // written by the code under test right before a site
};

class RunStubs : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = mmap(reinterpret_cast<void*>(kFakePage), 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != reinterpret_cast<void*>(kFakePage)) {
      if (p != MAP_FAILED) munmap(p, 4096);
      GTEST_SKIP() << "SKIPPED: address " << std::hex << kFakePage << " is taken in this process";
    }
    page_ = static_cast<FakePage*>(p);
    area_ = static_cast<uint8_t*>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(area_, MAP_FAILED);
    // Two fake entries at +8192: "not handled" (count, ret) and "handled"
    // (note rax and rsp, count, return past the syscall with rax = 4242).
    auto abs32 = [](Bytes* b, uint64_t a) { put32(b, static_cast<uint32_t>(a)); };
    Bytes decline = {0x48, 0xff, 0x04, 0x25};  // incq calls
    abs32(&decline, kFakePage + offsetof(FakePage, calls));
    decline.push_back(0xc3);
    Bytes handle = {0x48, 0x89, 0x04, 0x25};  // mov %rax, seen_rax
    abs32(&handle, kFakePage + offsetof(FakePage, seen_rax));
    handle.insert(handle.end(), {0x48, 0x89, 0x24, 0x25});  // mov %rsp, seen_rsp
    abs32(&handle, kFakePage + offsetof(FakePage, seen_rsp));
    handle.insert(handle.end(), {0x48, 0xff, 0x04, 0x25});  // incq calls
    abs32(&handle, kFakePage + offsetof(FakePage, calls));
    handle.insert(handle.end(), {0x48, 0x83, 0x04, 0x24, RRX_SITE_HANDLED_SKIP});  // addq $12,(%rsp)
    handle.insert(handle.end(), {0xb8, 0x92, 0x10, 0x00, 0x00, 0xc3});           // mov $4242,%eax; ret
    decline_ = area_ + 8192;
    handle_ = decline_ + 64;
    memcpy(decline_, decline.data(), decline.size());
    memcpy(handle_, handle.data(), handle.size());
  }
  void TearDown() override {
    if (area_ && area_ != MAP_FAILED) munmap(area_, 3 * 4096);
    if (page_) munmap(page_, 4096);
  }
  // Puts `code` (with its sites patched) at area_ and the stubs at +4096;
  // returns the address of code[entry].
  uint64_t install(const Bytes& code, size_t entry) {
    const uint64_t at = reinterpret_cast<uint64_t>(area_), stubs = at + 4096;
    Emitted e = emit(code, static_cast<int64_t>(at), stubs, kFakePage + offsetof(FakePage, slot));
    EXPECT_EQ(e.out.entries.size(), 1u);
    memcpy(area_, code.data(), code.size());
    for (const CodeWrite& w : e.out.writes) memcpy(reinterpret_cast<void*>(w.addr), w.bytes.data(), w.bytes.size());
    memcpy(area_ + 4096, e.out.stubs.data(), e.out.stubs.size());
    __builtin___clear_cache(reinterpret_cast<char*>(area_), reinterpret_cast<char*>(area_ + 8192));
    return at + entry;
  }
  FakePage* page_ = nullptr;
  uint8_t* area_ = nullptr;
  uint8_t* decline_ = nullptr;
  uint8_t* handle_ = nullptr;
};

using Fn = long (*)(long);

TEST_F(RunStubs, DeclinedCallRunsTheRealSyscall) {
  Fn f = reinterpret_cast<Fn>(install(cat({kRet, kMovGetpid, kSyscall, kRet}), 1));
  ASSERT_NE(area_[1], 0xb8) << "the site was not patched";
  page_->slot = reinterpret_cast<uint64_t>(decline_);
  EXPECT_EQ(f(0), getpid());
  EXPECT_EQ(page_->calls, 1u);
}

TEST_F(RunStubs, HandledCallSkipsTheSyscall) {
  // mov %rsp, site_rsp (not part of the site: the mov $39 is enough).
  Bytes note = {0x48, 0x89, 0x24, 0x25};
  put32(&note, static_cast<uint32_t>(kFakePage + offsetof(FakePage, site_rsp)));
  Fn f = reinterpret_cast<Fn>(install(cat({kRet, note, kMovGetpid, kSyscall, kRet}), 1));
  ASSERT_EQ(area_[1], 0x48) << "the note was patched";
  page_->slot = reinterpret_cast<uint64_t>(handle_);
  EXPECT_EQ(f(0), 4242);
  EXPECT_EQ(page_->calls, 1u);
  EXPECT_EQ(page_->seen_rax, 39u);
  // The engine ran below the red zone: 128 bytes and the return address
  // below the program's stack pointer, with [rsp] = R (stub + mov + lea +
  // call), which the fake entry then moved on by RRX_SITE_HANDLED_SKIP.
  EXPECT_EQ(page_->seen_rsp, page_->site_rsp - 128 - 8);
  uint64_t r;
  memcpy(&r, reinterpret_cast<void*>(page_->seen_rsp), 8);
  EXPECT_EQ(r, reinterpret_cast<uint64_t>(area_) + 4096 + 5 + 12 + RRX_SITE_HANDLED_SKIP);
}

TEST_F(RunStubs, InstructionsAfterTheSyscallRunOnBothPaths) {
  // S: mov %edi,%eax; syscall; add $1,%rax; E: ret.
  Fn f = reinterpret_cast<Fn>(install(cat({kRet, kMovEdiEax, kSyscall, kAddRax1, kRet}), 1));
  page_->slot = reinterpret_cast<uint64_t>(decline_);
  EXPECT_EQ(f(39), getpid() + 1);
  page_->slot = reinterpret_cast<uint64_t>(handle_);
  EXPECT_EQ(f(39), 4243);
  EXPECT_EQ(page_->calls, 2u);
}

}  // namespace
}  // namespace rrx::instrument
