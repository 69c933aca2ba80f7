#include "instrument/stub_emitter.h"

#include <algorithm>
#include <cstring>

#include "ticks/tick_page.h"

#ifndef RRX_TICK_OFF_COUNT
#define RRX_TICK_OFF_COUNT 0
#endif
#ifndef RRX_TICK_OFF_TRAP_PENDING
#define RRX_TICK_OFF_TRAP_PENDING 16
#endif
#ifndef RRX_TICK_OFF_SPILL
#define RRX_TICK_OFF_SPILL 32
#endif

namespace rrx::instrument {
namespace {

constexpr uint32_t kPage = RRX_TICK_PAGE_ADDR;

// Appends the little-endian absolute disp32 of a page field.
void put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// The engine's "handled" return skips the lea at R, the syscall and the
// jmp over the second lea.
static_assert(RRX_SITE_HANDLED_SKIP == kSiteLeaBytes + 2 + kSiteSkipJmpBytes);

// The fixed sequences (see stub_emitter.h); the tests decode them.
struct Seq {
  uint8_t b[16];
  uint8_t n;
};
Seq addq_count() {  // addq $1, count
  Seq s{{0x48, 0x83, 0x04, 0x25}, 9};
  put32(s.b + 4, kPage + RRX_TICK_OFF_COUNT);
  s.b[8] = 0x01;
  return s;
}
Seq movq_trap_pending() {  // movq $1, trap_pending
  Seq s{{0x48, 0xc7, 0x04, 0x25}, 12};
  put32(s.b + 4, kPage + RRX_TICK_OFF_TRAP_PENDING);
  put32(s.b + 8, 1);
  return s;
}
Seq mov_rcx(bool store, uint32_t field) {  // mov %rcx,field / mov field,%rcx
  Seq s{{0x48, static_cast<uint8_t>(store ? 0x89 : 0x8b), 0x0c, 0x25}, 8};
  put32(s.b + 4, kPage + field);
  return s;
}

class Out {
 public:
  explicit Out(uint8_t* p) : p_(p) {}
  void put(const Seq& s) { memcpy(p_ + n_, s.b, s.n); n_ += s.n; }
  void put(std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) p_[n_++] = b;
  }
  void put(const uint8_t* b, size_t n) { memcpy(p_ + n_, b, n); n_ += n; }
  void rel32(int64_t v) { put32(p_ + n_, static_cast<uint32_t>(v)); n_ += 4; }
  uint32_t pos() const { return n_; }
  uint8_t* at(uint32_t i) { return p_ + i; }

 private:
  uint8_t* p_;
  uint32_t n_ = 0;
};

}  // namespace

std::vector<uint8_t> site_call_glue(uint64_t slot, uint8_t insn) {
  std::vector<uint8_t> g = {0x48, 0x8d, 0x64, 0x24, 0x80,  // lea -128(%rsp),%rsp
                            0xff, 0x14, 0x25};             // call *slot (absolute)
  for (int i = 0; i < 4; ++i) g.push_back(static_cast<uint8_t>(slot >> (8 * i)));
  const uint8_t lea_up[] = {0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00};  // lea 128(%rsp),%rsp
  g.insert(g.end(), lea_up, lea_up + sizeof lea_up);                         // R
  g.insert(g.end(), {0x0f, insn, 0xeb, static_cast<uint8_t>(kSiteLeaBytes)});  // syscall; jmp +8
  g.insert(g.end(), lea_up, lea_up + sizeof lea_up);                         // R + 12
  return g;
}

namespace {

// One site's stub, built for a given address.
struct Built {
  PatchEntry e;
  uint8_t code[256];
  uint32_t length = 0;
  uint8_t trap[kChainTrapBytes];  // chained: its trap block
};

// What site s's entry is before it is placed: its form and lengths,
// which decide its stub's layout when it is not chained.
PatchEntry unchained_entry(const BranchSite& s) {
  PatchEntry e;
  e.orig_length = s.length;
  e.jcc_length = s.jcc_length;
  e.form = s.form;
  e.num_relocated = s.num_relocated;
  e.num_after = s.num_after;
  for (int r = 0; r < s.num_relocated + s.num_after && r < kMaxRelocated; ++r)
    e.relocated_length[r] = s.relocated[r].length;
  return e;
}

// The descriptor must describe the file's bytes: instructions before the
// jcc, the jcc, instructions after it, one after another, and a chained
// site's gap after that.
bool sane_site(const EmitRequest& req, const BranchSite& s) {
  const int num_moved = s.num_relocated + s.num_after;
  uint32_t moved = 0;
  bool sane = num_moved <= kMaxRelocated && s.length >= 5 && s.length <= kMaxRangeBytes &&
              s.start <= req.file_size && s.length <= req.file_size - s.start &&
              s.jcc_length >= 2 && s.num_gap <= kMaxGap && s.gap_end() <= req.file_size;
  for (int r = 0; sane && r < num_moved; ++r) {
    const RelocatedInsn& ri = s.relocated[r];
    const uint32_t jcc_before = r >= s.num_relocated ? s.jcc_length : 0;
    sane = ri.offset == s.start + moved + jcc_before && ri.length > 0 &&
           (ri.riprel_at == 0 || ri.riprel_at + 4u <= ri.length);
    moved += ri.length;
  }
  for (int g = 0; sane && g < s.num_gap; ++g)
    sane = s.gap[g].length > 0 && (s.gap[g].riprel_at == 0 || s.gap[g].riprel_at + 4u <= s.gap[g].length);
  sane = sane && moved + s.jcc_length == s.length &&
         (s.form != StubForm::kCountBeforeSetter || s.num_relocated > 0) &&
         (!s.chained || s.form == StubForm::kCountBeforeSetter) &&
         (s.transfer == GapTransfer::kNone || (s.chained && s.num_gap > 0));
  if (!sane) return false;
  if (s.transfer != GapTransfer::kNone) {
    const uint8_t len = s.gap[s.num_gap - 1].length;
    const uint8_t* t = req.file + s.gap_end() - len;
    const bool ok = s.transfer == GapTransfer::kJmp
                        ? (len == 2 && t[0] == 0xeb) || (len == 5 && t[0] == 0xe9)
                        : t[len - 1] == 0xc3 || (len >= 3 && t[len - 3] == 0xc2);
    if (!ok) return false;
  }
  const uint8_t* j = req.file + s.jcc_offset();
  if (calls_engine(s.form))
    return s.jcc_length == 2 && j[0] == 0x0f && j[1] == (s.form == StubForm::kSyscall ? 0x05 : 0xa2);
  if (s.form == StubForm::kLoop) return s.jcc_length == 2 && !s.rel32 && j[0] == (0xe0 | s.cond);
  return s.rel32 ? (j[s.jcc_length - 6] == 0x0f && j[s.jcc_length - 5] == (0x80 | s.cond))
                 : j[s.jcc_length - 2] == (0x70 | s.cond);
}

// What runs for `loop`/`loope`/`loopne`/`jrcxz` (cond: their opcode's low
// bits 2/1/0/3), kLoopEmulationBytes long, `rel` the taken jump's rel32:
//   lea -1(%rcx),%rcx ; jrcxz +7 ; (nop | jne +5 | je +5) ; jmp taken
//   nopl 0(%rax) ; jrcxz +2 ; jmp +5 ; jmp taken                  (jrcxz)
// None touches the flags.
void put_loop_emulation(Out& o, uint8_t cond, int64_t rel) {
  if (cond == 3) {
    o.put({0x0f, 0x1f, 0x40, 0x00, 0xe3, 0x02, 0xeb, 0x05});
  } else {
    o.put({0x48, 0x8d, 0x49, 0xff, 0xe3, 0x07});
    if (cond == 2) o.put({0x66, 0x90});
    else o.put({static_cast<uint8_t>(cond == 1 ? 0x75 : 0x74), 0x05});
  }
  o.put({0xe9});
  o.rel32(rel);
}

// Builds the stub of site s (sane_site) to run at `stub`; chained, it
// falls through at its end and its trap block is to run at `trap`.
bool build_stub(const EmitRequest& req, const BranchSite& s, uint64_t stub, bool chained,
                uint64_t trap, Built* b, EmitSkip* why) {
  PatchEntry& e = b->e;
  const int num_moved = s.num_relocated + s.num_after;
  e = unchained_entry(s);
  e.orig_start = s.start + req.bias;
  memcpy(e.original, req.file + s.start, s.length);
  e.stub_start = stub;
  if (chained) {
    e.chained = true;
    e.transfer = s.transfer;
    e.falls_through = s.transfer == GapTransfer::kNone;
    e.num_gap = s.num_gap;
    for (int g = 0; g < s.num_gap; ++g) e.gap_length[g] = s.gap[g].length;
    e.trap_offset = static_cast<int32_t>(static_cast<int64_t>(trap) - static_cast<int64_t>(stub));
  }
  const StubLayout L = stub_layout(e);
  if (L.length > sizeof b->code) { *why = EmitSkip::kBadSite; return false; }
  const int64_t S = static_cast<int64_t>(e.orig_start);
  const int64_t E = S + s.length;
  const int64_t taken = s.taken + req.bias;
  const int64_t stub_s = static_cast<int64_t>(stub);
  const int64_t trap_s = static_cast<int64_t>(trap);

  const bool syscall_site = calls_engine(s.form);  // or a cpuid site
  const bool loop = s.form == StubForm::kLoop;
  const int64_t branch_end = stub_s + L.jcc_at + (loop ? kLoopEmulationBytes : 6);
  bool reach = fits32(stub_s - (S + 5)) &&
               (syscall_site ? fits32(static_cast<int64_t>(req.site_entry_slot))
                             : fits32(taken - branch_end)) &&
               fits32((chained ? static_cast<int64_t>(s.gap_end() + req.bias) : E) -
                      (stub_s + L.exit_jmp_at + 5));
  // (A chained stub's exit jump, should the next stub not follow it, goes
  // to the gap's end.)
  if (chained) reach = reach && fits32(trap_s - stub_s) && fits32(stub_s - trap_s);
  Out o(b->code);
  auto copy_insn = [&](uint64_t offset, uint8_t length, uint8_t riprel_at) {
    uint32_t at = o.pos();
    o.put(req.file + offset, length);
    if (riprel_at) {
      int32_t disp;
      memcpy(&disp, req.file + offset + riprel_at, 4);
      int64_t target = static_cast<int64_t>(offset) + req.bias + length + disp;
      int64_t nd = target - (stub_s + at + length);
      if (!fits32(nd)) reach = false;
      put32(o.at(at + riprel_at), static_cast<uint32_t>(nd));
    }
  };
  auto relocate = [&](int r) {
    const RelocatedInsn& ri = s.relocated[r];
    copy_insn(ri.offset, ri.length, ri.riprel_at);
  };
  const int last = s.num_relocated - 1;
  if (syscall_site) {
    for (int r = 0; r <= last; ++r) relocate(r);
    const uint8_t insn = req.file[s.jcc_offset() + 1];  // 0f 05 or 0f a2 (sane_site)
    const std::vector<uint8_t> glue = site_call_glue(req.site_entry_slot, insn);
    o.put(glue.data(), glue.size());
    for (int r = s.num_relocated; r < num_moved; ++r) relocate(r);
    o.put({0xe9});
    o.rel32(E - (stub_s + L.exit_jmp_at + 5));
  } else if (s.form == StubForm::kCountBeforeSetter) {
    for (int r = 0; r < last; ++r) relocate(r);
    o.put(addq_count());
    if (chained) {
      o.put({0x0f, 0x84});
      o.rel32(trap_s - (stub_s + L.count_end));
    } else {
      o.put({0x74, static_cast<uint8_t>(L.trap_at - L.count_end)});
    }
    relocate(last);
  } else {
    for (int r = 0; r <= last; ++r) relocate(r);
    o.put(mov_rcx(true, RRX_TICK_OFF_SPILL));
    o.put(mov_rcx(false, RRX_TICK_OFF_COUNT));
    o.put({0x48, 0x8d, 0x49, 0x01});
    o.put(mov_rcx(true, RRX_TICK_OFF_COUNT));
    o.put({0xe3, static_cast<uint8_t>(L.trap_at - (o.pos() + 2))});
    o.put(mov_rcx(false, RRX_TICK_OFF_SPILL));
  }
  if (loop) {
    put_loop_emulation(o, s.cond, taken - branch_end);
    for (int r = s.num_relocated; r < num_moved; ++r) relocate(r);
  } else if (!syscall_site) {
    o.put({0x0f, static_cast<uint8_t>(0x80 | s.cond)});
    o.rel32(taken - branch_end);
    for (int r = s.num_relocated; r < num_moved; ++r) relocate(r);
  }
  if (chained) {
    uint64_t at = s.end();
    for (int g = 0; g < s.num_gap; at += s.gap[g++].length) {
      const uint8_t* b = req.file + at;
      if (s.transfer == GapTransfer::kJmp && g == s.num_gap - 1) {
        // The program's jmp, as jmp rel32 from here.
        int32_t rel = s.gap[g].length == 2 ? int8_t(b[1]) : 0;
        if (s.gap[g].length == 5) memcpy(&rel, b + 1, 4);
        const int64_t target = static_cast<int64_t>(at) + req.bias + s.gap[g].length + rel;
        const int64_t from = stub_s + o.pos() + 5;
        if (!fits32(target - from)) reach = false;
        o.put({0xe9});
        o.rel32(target - from);
      } else {
        copy_insn(at, s.gap[g].length, s.gap[g].riprel_at);
      }
    }
    Out t(b->trap);
    t.put(movq_trap_pending());
    t.put({0xcc, 0xe9});
    t.rel32(stub_s + L.resume_at - (trap_s + kChainTrapBytes));
  } else if (!syscall_site) {
    o.put({0xe9});
    o.rel32(E - (stub_s + L.exit_jmp_at + 5));
    if (s.form != StubForm::kCountBeforeSetter) o.put(mov_rcx(false, RRX_TICK_OFF_SPILL));
    o.put(movq_trap_pending());
    o.put({0xcc});
    o.put({0xeb, static_cast<uint8_t>(static_cast<int>(L.resume_at) -
                                      static_cast<int>(o.pos() + 2))});
  }
  if (!reach) { *why = EmitSkip::kOutOfReach; return false; }
  if (o.pos() != L.length) { *why = EmitSkip::kBadSite; return false; }  // cannot happen
  b->length = L.length;
  return true;
}

// Whether site i is chained to the site after it in this request (the
// caller may have left that one out).
bool chains_on(const EmitRequest& req, size_t i) {
  return req.sites[i].chained && req.sites[i].transfer == GapTransfer::kNone &&
         i + 1 < req.num_sites && req.sites[i + 1].start == req.sites[i].gap_end() &&
         !calls_engine(req.sites[i + 1].form);
}

// Whether site i's stub copies its gap (and so has its trap block apart).
bool copies_gap(const EmitRequest& req, size_t i) {
  return req.sites[i].chained &&
         (req.sites[i].transfer != GapTransfer::kNone || chains_on(req, i));
}

}  // namespace

void emit_stubs(const EmitRequest& req, EmitResult* out) {
  *out = EmitResult();
  // Room for every stub that fits (an upper bound: skipped sites free
  // theirs), so that the loop below never reallocates.
  size_t need = 0;
  for (size_t i = 0; i < req.num_sites; ++i) {
    const BranchSite& s = req.sites[i];
    if (s.num_relocated + s.num_after > kMaxRelocated) continue;  // refused below
    need += stub_layout(unchained_entry(s)).length +
            (s.chained ? s.gap_end() - s.end() + kChainTrapBytes + 4 : 0);
  }
  out->stubs.resize(std::min(need, req.stub_capacity));
  out->entries.reserve(req.num_sites);
  size_t used = 0;
  auto room = [&](size_t n) {
    if (used + n > req.stub_capacity) return false;
    if (out->stubs.size() < used + n)
      out->stubs.resize(std::min(req.stub_capacity, (used + n) * 2));
    return true;
  };
  // The trap blocks reserved before the current chain, not yet given out.
  size_t traps_left = 0;
  uint64_t next_trap = 0;
  // The last stub emitted is chained and waits for the next site's stub to
  // follow it; if that does not come, it jumps back to its gap's end.
  bool open = false;
  auto close_chain = [&] {
    if (!open) return;
    open = false;
    PatchEntry& e = out->entries.back();
    e.falls_through = false;
    const uint64_t jmp_at = e.stub_start + stub_layout(e).exit_jmp_at;
    uint8_t* p = out->stubs.data() + used;  // room: `need` counted it
    p[0] = 0xe9;
    put32(p + 1, static_cast<uint32_t>(static_cast<int64_t>(e.gap_end()) -
                                       static_cast<int64_t>(jmp_at + 5)));
    used += 5;
  };
  Built b;
  for (size_t i = 0; i < req.num_sites; ++i) {
    const BranchSite& s = req.sites[i];
    auto skip = [&](EmitSkip why) {
      out->unpatched.push_back({i, why});
      close_chain();
    };
    if (!sane_site(req, s)) { skip(EmitSkip::kBadSite); continue; }
    bool chained = copies_gap(req, i);
    if (chained && traps_left == 0) {
      // A chain starts: its trap blocks go first, out of the way.
      size_t m = 0;
      for (size_t j = i; j < req.num_sites && copies_gap(req, j); ++j) {
        ++m;
        if (!chains_on(req, j)) break;
      }
      if (room(m * kChainTrapBytes)) {
        memset(out->stubs.data() + used, 0xcc, m * kChainTrapBytes);
        next_trap = req.stub_base + used;
        used += m * kChainTrapBytes;
        traps_left = m;
      }
    }
    chained = chained && traps_left > 0;
    const uint64_t trap = next_trap;
    if (chained) {
      next_trap += kChainTrapBytes;
      --traps_left;
    }
    EmitSkip why = EmitSkip::kNoSpace;
    bool built = build_stub(req, s, req.stub_base + used, chained, trap, &b, &why) ||
                 (chained && build_stub(req, s, req.stub_base + used, false, 0, &b, &why));
    if (built && !room(b.length + (b.e.chained ? 5 : 0))) {
      built = false;
      why = EmitSkip::kNoSpace;
    }
    if (!built) { skip(why); continue; }
    open = false;  // the stub before, if chained, runs on into this one
    memcpy(out->stubs.data() + used, b.code, b.length);
    used += b.length;
    if (b.e.chained) {
      memcpy(out->stubs.data() + (trap - req.stub_base), b.trap, kChainTrapBytes);
      open = b.e.falls_through;
    }

    // The overwrite: jmp stub, int3 filler; merged with the previous write
    // when close (the gap keeps its original bytes).
    const PatchEntry& e = b.e;
    uint8_t patch[kMaxRangeBytes];
    patch[0] = 0xe9;
    put32(patch + 1, static_cast<uint32_t>(static_cast<int64_t>(e.stub_start) -
                                           static_cast<int64_t>(e.orig_start + 5)));
    memset(patch + 5, 0xcc, s.length - 5);
    CodeWrite* w = out->writes.empty() ? nullptr : &out->writes.back();
    uint64_t wend = w ? w->addr + w->bytes.size() : 0;
    if (w && e.orig_start >= wend && e.orig_start - wend <= kMergeGap) {
      const uint8_t* gap = req.file + (wend - req.bias);
      w->bytes.insert(w->bytes.end(), gap, gap + (e.orig_start - wend));
      w->bytes.insert(w->bytes.end(), patch, patch + s.length);
    } else {
      out->writes.push_back({e.orig_start, std::vector<uint8_t>(patch, patch + s.length)});
    }
    out->entries.push_back(e);
  }
  close_chain();
  out->stubs.resize(used);
}

}  // namespace rrx::instrument
