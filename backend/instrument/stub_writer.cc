#include "instrument/stub_writer.h"

#include <algorithm>
#include <cstring>

#include "instrument/stub_layout.h"
#include "ticks/tick_page.h"

namespace rrx::instrument {
namespace {

bool fits_rel32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

void put32(std::string& s, size_t at, int32_t v) { memcpy(&s[at], &v, 4); }

// The byte sequences of stub_layout.h. Absolute addresses of the tick page
// fit a sign-extended disp32 (mod 00, r/m 100, SIB 0x25).
#define RRX_ABS(off) 0x25, (RRX_TICK_PAGE_ADDR + (off)) & 0xff, ((RRX_TICK_PAGE_ADDR + (off)) >> 8) & 0xff, \
                     ((RRX_TICK_PAGE_ADDR + (off)) >> 16) & 0xff, ((RRX_TICK_PAGE_ADDR + (off)) >> 24) & 0xff
const uint8_t kAddCount[] = {0x48, 0x83, 0x04, RRX_ABS(RRX_TICK_OFF_COUNT), 0x01};   // addq $1, count
const uint8_t kSpillRcx[] = {0x48, 0x89, 0x0c, RRX_ABS(RRX_TICK_OFF_SPILL)};          // mov %rcx, spill
const uint8_t kLoadCount[] = {0x48, 0x8b, 0x0c, RRX_ABS(RRX_TICK_OFF_COUNT)};         // mov count, %rcx
const uint8_t kIncRcx[] = {0x48, 0x8d, 0x49, 0x01};                                   // lea 1(%rcx), %rcx
const uint8_t kStoreCount[] = {0x48, 0x89, 0x0c, RRX_ABS(RRX_TICK_OFF_COUNT)};        // mov %rcx, count
const uint8_t kReloadRcx[] = {0x48, 0x8b, 0x0c, RRX_ABS(RRX_TICK_OFF_SPILL)};         // mov spill, %rcx
const uint8_t kSetPending[] = {0x48, 0xc7, 0x04, RRX_ABS(RRX_TICK_OFF_TRAP_PENDING), 1, 0, 0, 0};
#undef RRX_ABS
static_assert(sizeof kAddCount + 6 == kCountBytes, "stub_layout.h");
static_assert(sizeof kSpillRcx + sizeof kLoadCount + sizeof kIncRcx + sizeof kStoreCount + 2 +
                  sizeof kReloadRcx == kFlagFreeCountBytes, "stub_layout.h");
static_assert(sizeof kSetPending + 3 == kTrapBytes, "stub_layout.h");
static_assert(sizeof kReloadRcx + kTrapBytes == kFlagFreeTrapBytes, "stub_layout.h");

template <size_t N>
void append(std::string& s, const uint8_t (&bytes)[N]) {
  s.append(reinterpret_cast<const char*>(bytes), N);
}

// Appends one site's stub at `base + out.size()`. False if a jump does not
// reach or a moved rip-relative operand no longer does.
bool write_stub(const JccSite& site, const MappedCode& code, uint64_t base, std::string& out) {
  StubLayout l = stub_layout(site.form, site.moved, site.moved_len);
  size_t begin = out.size();
  uint64_t stub = base + begin;
  uint64_t site_addr = site.start + code.delta;
  std::string s(l.size, '\0');
  // Moved instructions, rip-relative displacements rebased.
  uint64_t orig = site.start;
  for (int i = 0; i < site.moved; ++i) {
    memcpy(&s[l.moved_at[i]], code.file + orig, site.moved_len[i]);
    if (site.moved_disp_at[i]) {
      int32_t disp;
      memcpy(&disp, code.file + orig + site.moved_disp_at[i], 4);
      int64_t moved = static_cast<int64_t>(disp) + static_cast<int64_t>(orig + code.delta) -
                      static_cast<int64_t>(stub + l.moved_at[i]);
      if (!fits_rel32(moved)) return false;
      put32(s, l.moved_at[i] + site.moved_disp_at[i], static_cast<int32_t>(moved));
    }
    orig += site.moved_len[i];
  }
  // The count.
  size_t c = l.count_at;
  if (l.count_end - l.count_at == kCountBytes) {
    memcpy(&s[c], kAddCount, sizeof kAddCount);
    c += sizeof kAddCount;
    s[c] = '\x0f';
    s[c + 1] = '\x84';  // je trap
    put32(s, c + 2, static_cast<int32_t>(l.trap_at - (c + 6)));
  } else {
    for (auto [bytes, n] : {std::pair{kSpillRcx, sizeof kSpillRcx}, {kLoadCount, sizeof kLoadCount},
                            {kIncRcx, sizeof kIncRcx}, {kStoreCount, sizeof kStoreCount}}) {
      memcpy(&s[c], bytes, n);
      c += n;
    }
    s[c] = '\xe3';  // jrcxz trap
    s[c + 1] = static_cast<char>(l.trap_at - (c + 2));
    c += 2;
    memcpy(&s[c], kReloadRcx, sizeof kReloadRcx);
  }
  // The branch itself, then on to the fall-through.
  int64_t taken = site.taken + code.delta - static_cast<int64_t>(stub + l.jcc_at + kJccBytes);
  int64_t fallthrough = static_cast<int64_t>(site_addr + site.length) -
                        static_cast<int64_t>(stub + l.jmp_at + kJmpBytes);
  if (!fits_rel32(taken) || !fits_rel32(fallthrough)) return false;
  s[l.jcc_at] = '\x0f';
  s[l.jcc_at + 1] = static_cast<char>(0x80 | site.cond);
  put32(s, l.jcc_at + 2, static_cast<int32_t>(taken));
  s[l.jmp_at] = '\xe9';
  put32(s, l.jmp_at + 1, static_cast<int32_t>(fallthrough));
  // The trap: the tick page protocol, then back before the branch.
  size_t t = l.trap_at;
  if (l.count_end - l.count_at != kCountBytes) {
    memcpy(&s[t], kReloadRcx, sizeof kReloadRcx);
    t += sizeof kReloadRcx;
  }
  memcpy(&s[t], kSetPending, sizeof kSetPending);
  t += sizeof kSetPending;
  s[t] = '\xcc';
  s[t + 1] = '\xeb';  // jmp resume
  s[t + 2] = static_cast<char>(static_cast<int64_t>(l.resume) - static_cast<int64_t>(t + 3));
  out += s;
  return true;
}

}  // namespace

size_t max_stub_bytes(size_t sites) {
  return sites * (kMaxSiteBytes + kFlagFreeCountBytes + kJccBytes + kJmpBytes + kFlagFreeTrapBytes);
}

void emit_patch(const std::vector<JccSite>& sites, const MappedCode& code, uint64_t stub_base,
                size_t stub_room, EmittedPatch* out) {
  *out = EmittedPatch();
  auto first = std::lower_bound(sites.begin(), sites.end(), code.lo,
                                [](const JccSite& s, uint64_t lo) { return s.start < lo; });
  // The patched code: the mapping's file bytes, overwritten site by site.
  uint64_t hi = std::min<uint64_t>(code.hi, code.file_size);
  if (code.lo >= hi) return;
  std::string& image = out->code;
  image.assign(reinterpret_cast<const char*>(code.file + code.lo), hi - code.lo);
  image.resize(code.hi - code.lo, '\0');
  for (auto it = first; it != sites.end() && it->start + it->length <= hi; ++it) {
    const JccSite& site = *it;
    size_t before = out->stubs.size();
    StubLayout l = stub_layout(site.form, site.moved, site.moved_len);
    if (before + l.size > stub_room || !write_stub(site, code, stub_base, out->stubs)) {
      out->stubs.resize(before);
      continue;
    }
    uint64_t site_addr = site.start + code.delta;
    int64_t jump = static_cast<int64_t>(stub_base + before) - static_cast<int64_t>(site_addr + 5);
    if (!fits_rel32(jump)) {
      out->stubs.resize(before);
      continue;
    }
    SiteRecord r;
    r.site = site_addr;
    r.stub = stub_base + before;
    r.length = site.length;
    r.form = site.form;
    r.moved = site.moved;
    memcpy(r.moved_len, site.moved_len, sizeof r.moved_len);
    memcpy(r.original, code.file + site.start, site.length);
    out->records.push_back(r);
    size_t at = site.start - code.lo;
    image[at] = '\xe9';
    put32(image, at + 1, static_cast<int32_t>(jump));
    for (size_t i = 5; i < site.length; ++i) image[at + i] = '\xcc';
    (site.short_jcc ? out->rel8 : out->rel32)++;
  }
}

}  // namespace rrx::instrument
