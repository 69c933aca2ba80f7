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

void emit_stubs(const EmitRequest& req, EmitResult* out) {
  *out = EmitResult();
  // Room for every stub that fits (an upper bound: skipped sites free
  // theirs), so that the loop below never reallocates.
  size_t need = 0;
  for (size_t i = 0; i < req.num_sites; ++i) {
    uint8_t lens[kMaxRelocated] = {};
    const BranchSite& s = req.sites[i];
    if (s.num_relocated + s.num_after > kMaxRelocated) continue;  // refused below
    for (int r = 0; r < s.num_relocated + s.num_after; ++r) lens[r] = s.relocated[r].length;
    need += stub_layout(s.form, s.num_relocated, s.num_after, lens).length;
  }
  out->stubs.resize(std::min(need, req.stub_capacity));
  out->entries.reserve(req.num_sites);
  size_t used = 0;
  uint8_t buf[128];
  for (size_t i = 0; i < req.num_sites; ++i) {
    const BranchSite& s = req.sites[i];
    auto skip = [&](EmitSkip why) { out->unpatched.push_back({i, why}); };

    // The descriptor must describe these bytes: instructions before the
    // jcc, the jcc, instructions after it, one after another.
    const int num_moved = s.num_relocated + s.num_after;
    uint32_t moved = 0;
    bool sane = num_moved <= kMaxRelocated && s.length >= 5 &&
                s.length <= kMaxRangeBytes && s.start <= req.file_size &&
                s.length <= req.file_size - s.start && s.jcc_length >= 2;
    for (int r = 0; sane && r < num_moved; ++r) {
      const RelocatedInsn& ri = s.relocated[r];
      const uint32_t jcc_before = r >= s.num_relocated ? s.jcc_length : 0;
      sane = ri.offset == s.start + moved + jcc_before && ri.length > 0 &&
             (ri.riprel_at == 0 || ri.riprel_at + 4u <= ri.length);
      moved += ri.length;
    }
    sane = sane && moved + s.jcc_length == s.length &&
           (s.form == StubForm::kFlagFree || s.num_relocated > 0 || calls_engine(s.form));
    if (sane) {
      const uint8_t* j = req.file + s.jcc_offset();
      if (calls_engine(s.form))
        sane = s.jcc_length == 2 && j[0] == 0x0f &&
               j[1] == (s.form == StubForm::kSyscall ? 0x05 : 0xa2);
      else
        sane = s.rel32 ? (j[s.jcc_length - 6] == 0x0f &&
                          j[s.jcc_length - 5] == (0x80 | s.cond))
                       : j[s.jcc_length - 2] == (0x70 | s.cond);
    }
    if (!sane) { skip(EmitSkip::kBadSite); continue; }

    PatchEntry e;
    e.orig_start = s.start + req.bias;
    e.orig_length = s.length;
    e.jcc_length = s.jcc_length;
    e.form = s.form;
    e.num_relocated = s.num_relocated;
    e.num_after = s.num_after;
    for (int r = 0; r < num_moved; ++r) e.relocated_length[r] = s.relocated[r].length;
    memcpy(e.original, req.file + s.start, s.length);
    const StubLayout L = stub_layout(s.form, s.num_relocated, s.num_after, e.relocated_length);
    if (used + L.length > req.stub_capacity) { skip(EmitSkip::kNoSpace); continue; }
    const uint64_t stub = req.stub_base + used;
    e.stub_start = stub;
    const int64_t S = static_cast<int64_t>(e.orig_start);
    const int64_t E = S + s.length;
    const int64_t taken = s.taken + req.bias;
    const int64_t stub_s = static_cast<int64_t>(stub);

    const bool syscall_site = calls_engine(s.form);  // or a cpuid site
    bool reach = fits32(stub_s - (S + 5)) &&
                 (syscall_site ? fits32(static_cast<int64_t>(req.site_entry_slot))
                               : fits32(taken - (stub_s + L.jcc_at + 6))) &&
                 fits32(E - (stub_s + L.exit_jmp_at + 5));
    Out o(buf);
    const int last = s.num_relocated - 1;
    auto relocate = [&](int r) {
      const RelocatedInsn& ri = s.relocated[r];
      uint32_t at = o.pos();
      o.put(req.file + ri.offset, ri.length);
      if (ri.riprel_at) {
        int32_t disp;
        memcpy(&disp, req.file + ri.offset + ri.riprel_at, 4);
        int64_t target = static_cast<int64_t>(ri.offset) + req.bias + ri.length + disp;
        int64_t nd = target - (stub_s + at + ri.length);
        if (!fits32(nd)) reach = false;
        put32(o.at(at + ri.riprel_at), static_cast<uint32_t>(nd));
      }
    };
    if (syscall_site) {
      for (int r = 0; r <= last; ++r) relocate(r);
      const uint8_t insn = req.file[s.jcc_offset() + 1];  // 0f 05 or 0f a2 (checked above)
      const std::vector<uint8_t> glue = site_call_glue(req.site_entry_slot, insn);
      o.put(glue.data(), glue.size());
      for (int r = s.num_relocated; r < num_moved; ++r) relocate(r);
      o.put({0xe9});
      o.rel32(E - (stub_s + L.exit_jmp_at + 5));
    } else if (s.form == StubForm::kCountBeforeSetter) {
      for (int r = 0; r < last; ++r) relocate(r);
      o.put(addq_count());
      o.put({0x74, static_cast<uint8_t>(L.trap_at - L.count_end)});
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
    if (!syscall_site) {
      o.put({0x0f, static_cast<uint8_t>(0x80 | s.cond)});
      o.rel32(taken - (stub_s + L.jcc_at + 6));
      for (int r = s.num_relocated; r < num_moved; ++r) relocate(r);
      o.put({0xe9});
      o.rel32(E - (stub_s + L.exit_jmp_at + 5));
      if (s.form == StubForm::kFlagFree) o.put(mov_rcx(false, RRX_TICK_OFF_SPILL));
      o.put(movq_trap_pending());
      o.put({0xcc});
      o.put({0xeb, static_cast<uint8_t>(static_cast<int>(L.resume_at) -
                                        static_cast<int>(o.pos() + 2))});
    }
    if (!reach) { skip(EmitSkip::kOutOfReach); continue; }
    if (o.pos() != L.length) { skip(EmitSkip::kBadSite); continue; }  // cannot happen

    if (out->stubs.size() < used + L.length)
      out->stubs.resize(std::min(req.stub_capacity, (used + L.length) * 2));
    memcpy(out->stubs.data() + used, buf, L.length);
    used += L.length;

    // The overwrite: jmp stub, int3 filler; merged with the previous write
    // when close (the gap keeps its original bytes).
    uint8_t patch[kMaxRangeBytes];
    patch[0] = 0xe9;
    put32(patch + 1, static_cast<uint32_t>(stub_s - (S + 5)));
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
  out->stubs.resize(used);
}

}  // namespace rrx::instrument
