#include "instrument/patch_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace rrx::instrument {

StubLayout stub_layout(const PatchEntry& e) {
  StubLayout L{};
  const int k = e.num_relocated, a = e.num_after;
  const uint8_t* len = e.relocated_length;
  uint32_t p = 0;
  if (calls_engine(e.form)) {
    for (int i = 0; i < k; ++i) { L.relocated_at[i] = p; p += len[i]; }
    L.count_at = p;
    L.count_end = L.resume_at = p + kSiteCallBytes;  // R
    L.jcc_at = L.resume_at + kSiteLeaBytes;
    p = L.jcc_at + 2 + kSiteSkipJmpBytes + kSiteLeaBytes;  // syscall; jmp +8; lea
    for (int i = 0; i < a; ++i) { L.after_at[i] = p; p += len[k + i]; }
    L.exit_jmp_at = p;
    L.trap_at = L.length = p + 5;
    return L;
  }
  if (e.form == StubForm::kCountBeforeSetter && k > 0) {
    for (int i = 0; i < k - 1; ++i) { L.relocated_at[i] = p; p += len[i]; }
    L.count_at = p;
    L.count_end = p + 9 + (e.chained ? 6 : 2);  // addq; je (rel32 to a trap block apart)
    L.resume_at = L.count_end;
    L.relocated_at[k - 1] = L.resume_at;
    L.jcc_at = L.resume_at + len[k - 1];
  } else {
    for (int i = 0; i < k; ++i) { L.relocated_at[i] = p; p += len[i]; }
    L.count_at = p;
    L.count_end = p + 8 + 8 + 4 + 8 + 2 + 8;  // spill .. jrcxz .. restore
    L.resume_at = L.jcc_at = L.count_end;
  }
  p = L.jcc_at + (e.form == StubForm::kLoop ? kLoopEmulationBytes : 6);
  for (int i = 0; i < a; ++i) { L.after_at[i] = p; p += len[k + i]; }
  if (e.chained) {
    for (int i = 0; i < e.num_gap; ++i) { L.gap_at[i] = p; p += gap_copy_length(e, i); }
    L.exit_jmp_at = p;
    L.trap_at = L.length = p + (e.falls_through || e.transfer != GapTransfer::kNone ? 0 : 5);
    return L;
  }
  L.exit_jmp_at = p;
  L.trap_at = L.exit_jmp_at + 5;
  L.length = L.trap_at + (e.form == StubForm::kCountBeforeSetter && k > 0 ? 0 : 8) +
             12 + 1 + 2;  // (restore %rcx;) movq; int3; jmp resume
  return L;
}

uint32_t gap_copy_length(const PatchEntry& e, int i) {
  return e.transfer == GapTransfer::kJmp && i == e.num_gap - 1 ? 5 : e.gap_length[i];
}

uint32_t PatchEntry::stub_length() const { return stub_layout(*this).length; }

bool PatchEntry::consistent() const {
  if (num_relocated + num_after > kMaxRelocated || orig_length < 5 ||
      orig_length > kMaxRangeBytes || jcc_length < 2 ||
      (form != StubForm::kFlagFree && form != StubForm::kCountBeforeSetter &&
       form != StubForm::kLoop && !calls_engine(form)) ||
      (form == StubForm::kCountBeforeSetter && num_relocated == 0) ||
      ((calls_engine(form) || form == StubForm::kLoop) && jcc_length != 2))
    return false;
  if (chained ? form != StubForm::kCountBeforeSetter || num_gap > kMaxGap ||
                    (transfer != GapTransfer::kNone && (falls_through || num_gap == 0))
              : falls_through || num_gap || trap_offset || transfer != GapTransfer::kNone)
    return false;
  for (int i = 0; i < kMaxGap; ++i)
    if ((gap_length[i] != 0) != (i < num_gap)) return false;
  uint32_t sum = jcc_length;
  for (int i = 0; i < num_relocated + num_after; ++i) {
    if (relocated_length[i] == 0) return false;
    sum += relocated_length[i];
  }
  for (int i = num_relocated + num_after; i < kMaxRelocated; ++i)
    if (relocated_length[i]) return false;
  return sum == orig_length && orig_start + orig_length > orig_start &&
         gap_end() >= orig_end() && stub_start + stub_length() > stub_start;
}

void PatchMap::load_pending() const {
  if (pending_.path.empty()) return;
  Pending p = std::move(pending_);
  pending_ = {};
  std::string bytes(p.len, '\0');
  int fd = open(p.path.c_str(), O_RDONLY | O_CLOEXEC);
  bool read = fd >= 0 && pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(p.offset)) ==
                             static_cast<ssize_t>(bytes.size());
  if (fd >= 0) close(fd);
  PatchMap loaded;
  if (read && loaded.deserialize(bytes)) {
    entries_ = std::move(loaded.entries_);
    by_stub_ = std::move(loaded.by_stub_);
    by_trap_ = std::move(loaded.by_trap_);
  }
}

void PatchMap::reindex() {
  by_stub_.resize(entries_.size());
  for (uint32_t i = 0; i < by_stub_.size(); ++i) by_stub_[i] = i;
  std::sort(by_stub_.begin(), by_stub_.end(), [&](uint32_t a, uint32_t b) {
    return entries_[a].stub_start < entries_[b].stub_start;
  });
  by_trap_.clear();
  for (uint32_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].chained) by_trap_.push_back(i);
  auto trap = [&](uint32_t i) { return entries_[i].stub_start + entries_[i].trap_offset; };
  std::sort(by_trap_.begin(), by_trap_.end(), [&](uint32_t a, uint32_t b) { return trap(a) < trap(b); });
}

void PatchMap::add(const std::vector<PatchEntry>& entries) {
  load_pending();
  size_t mid = entries_.size();
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  auto by_start = [](const PatchEntry& a, const PatchEntry& b) {
    return a.orig_start < b.orig_start;
  };
  if (!std::is_sorted(entries_.begin() + mid, entries_.end(), by_start))
    std::sort(entries_.begin() + mid, entries_.end(), by_start);
  std::inplace_merge(entries_.begin(), entries_.begin() + mid, entries_.end(),
                     by_start);
  reindex();
}

void PatchMap::erase(uint64_t lo, uint64_t hi) {
  load_pending();
  auto gone = [&](const PatchEntry& e) {
    return (e.orig_start < hi && e.orig_end() > lo) ||
           (e.stub_start < hi && e.stub_end() > lo);
  };
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), gone),
                 entries_.end());
  reindex();
}

const PatchEntry* PatchMap::by_orig(uint64_t addr) const {
  load_pending();
  auto it = std::upper_bound(
      entries_.begin(), entries_.end(), addr,
      [](uint64_t a, const PatchEntry& e) { return a < e.orig_start; });
  if (it == entries_.begin()) return nullptr;
  --it;
  return addr < it->orig_end() ? &*it : nullptr;
}

const PatchEntry* PatchMap::by_stub_addr(uint64_t addr) const {
  load_pending();
  auto it = std::upper_bound(by_stub_.begin(), by_stub_.end(), addr,
                             [&](uint64_t a, uint32_t i) {
                               return a < entries_[i].stub_start;
                             });
  if (it == by_stub_.begin()) return nullptr;
  const PatchEntry& e = entries_[*--it];
  return addr < e.stub_end() ? &e : nullptr;
}

const PatchEntry* PatchMap::by_trap_addr(uint64_t addr) const {
  load_pending();
  auto trap = [&](uint32_t i) { return entries_[i].stub_start + entries_[i].trap_offset; };
  auto it = std::upper_bound(by_trap_.begin(), by_trap_.end(), addr,
                             [&](uint64_t a, uint32_t i) { return a < trap(i); });
  if (it == by_trap_.begin()) return nullptr;
  --it;
  return addr - trap(*it) < kChainTrapBytes ? &entries_[*it] : nullptr;
}

PatchMap::Translation PatchMap::to_original(uint64_t pc) const {
  if (const PatchEntry* e = by_orig(pc))
    return {pc, pc == e->orig_start};
  const PatchEntry* e = by_stub_addr(pc);
  if (!e) {
    // A chained stub's trap block stands, like the count, for the setter.
    if (const PatchEntry* t = by_trap_addr(pc)) {
      uint64_t setter = t->orig_start;
      for (int i = 0; i + 1 < t->num_relocated; ++i) setter += t->relocated_length[i];
      return {setter, true};
    }
    return {pc, false};
  }
  const int k = e->num_relocated, n = k + e->num_after;
  const StubLayout L = stub_layout(*e);
  const uint32_t off = static_cast<uint32_t>(pc - e->stub_start);
  // Original address of relocated i (after the jcc from k on), and the jcc.
  uint64_t orig[kMaxRelocated];
  uint64_t a = e->orig_start, jcc = 0;
  for (int i = 0; i < n; ++i) {
    if (i == k) { jcc = a; a += e->jcc_length; }
    orig[i] = a;
    a += e->relocated_length[i];
  }
  if (n == k) jcc = a;
  if (calls_engine(e->form)) {
    const uint32_t jmp8 = L.jcc_at + 2;
    if (off >= L.exit_jmp_at) return {e->orig_end(), true};
    for (int i = n - 1; i >= k; --i)
      if (off >= L.after_at[i - k]) return {orig[i] + (off - L.after_at[i - k]), false};
    if (off >= jmp8 + kSiteSkipJmpBytes) return {jcc + 2, true};  // lea at R + 12
    if (off >= jmp8) return {jcc + 2, false, true};
    if (off >= L.jcc_at) return {jcc + (off - L.jcc_at), false};
    if (off == L.count_at) {
      PatchMap::Translation t{jcc, false};
      t.site_entry = true;
      return t;
    }
    if (off >= L.count_at) {
      PatchMap::Translation t{jcc, true};
      if (off == L.count_at + kSiteLeaDownBytes) t.engine_return = e->stub_start + L.resume_at;
      return t;
    }
  }
  if (off >= L.trap_at || (off >= L.count_at && off < L.count_end))
    return {e->form == StubForm::kCountBeforeSetter ? orig[k - 1] : jcc, true};
  if (off >= L.exit_jmp_at) return {e->gap_end(), true};
  uint64_t gap = e->orig_end();
  for (int i = 0; i < e->num_gap; gap += e->gap_length[i++])
    if (off >= L.gap_at[i] && off < L.gap_at[i] + gap_copy_length(*e, i))
      return {gap + std::min<uint64_t>(off - L.gap_at[i], e->gap_length[i] - 1), false};
  for (int i = n - 1; i >= k; --i)
    if (off >= L.after_at[i - k]) return {orig[i] + (off - L.after_at[i - k]), false};
  // Inside a loop's emulation, %rcx may be counted down already.
  if (e->form == StubForm::kLoop && off > L.jcc_at) return {jcc, true};
  if (off >= L.jcc_at) return {jcc, false};
  for (int i = k - 1; i >= 0; --i)
    if (off >= L.relocated_at[i]) return {orig[i] + (off - L.relocated_at[i]), false};
  return {pc, false};  // unreachable: every stub byte is covered above
}

std::optional<uint64_t> PatchMap::to_real(uint64_t orig_pc) const {
  const PatchEntry* e = by_orig(orig_pc);
  if (!e) return orig_pc;
  const int k = e->num_relocated;
  const StubLayout L = stub_layout(*e);
  uint64_t a = e->orig_start;
  for (int i = 0; i < k; ++i) {
    if (orig_pc == a) return e->stub_start + L.relocated_at[i];
    a += e->relocated_length[i];
  }
  if (orig_pc == a) return e->stub_start + (calls_engine(e->form) ? L.count_at : L.jcc_at);
  a += e->jcc_length;
  for (int i = 0; i < e->num_after; ++i) {
    if (orig_pc == a) return e->stub_start + L.after_at[i];
    a += e->relocated_length[k + i];
  }
  return std::nullopt;
}

std::optional<uint64_t> PatchMap::gap_copy(uint64_t orig_pc) const {
  load_pending();
  auto it = std::upper_bound(
      entries_.begin(), entries_.end(), orig_pc,
      [](uint64_t a, const PatchEntry& e) { return a < e.orig_start; });
  if (it == entries_.begin()) return std::nullopt;
  const PatchEntry& e = *--it;
  if (!e.chained || orig_pc < e.orig_end()) return std::nullopt;
  const StubLayout L = stub_layout(e);
  uint64_t a = e.orig_end();
  for (int i = 0; i < e.num_gap; a += e.gap_length[i++])
    if (a == orig_pc) return e.stub_start + L.gap_at[i];
  return std::nullopt;
}

void PatchMap::show_original(uint64_t addr, uint8_t* buf, size_t len) const {
  if (len == 0) return;
  load_pending();
  const uint64_t end = addr + len;
  auto it = std::upper_bound(
      entries_.begin(), entries_.end(), addr,
      [](uint64_t a, const PatchEntry& e) { return a < e.orig_start; });
  if (it != entries_.begin()) --it;
  for (; it != entries_.end() && it->orig_start < end; ++it) {
    uint64_t lo = std::max(addr, it->orig_start), hi = std::min(end, it->orig_end());
    if (lo < hi) memcpy(buf + (lo - addr), it->original + (lo - it->orig_start), hi - lo);
  }
}

bool PatchMap::overlaps_patch(uint64_t addr, size_t len) const {
  if (len == 0) return false;
  load_pending();
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), addr + len,
      [](const PatchEntry& e, uint64_t a) { return e.orig_start < a; });
  return it != entries_.begin() && std::prev(it)->orig_end() > addr;
}

// Format: "RRXPMAP\0", u32 version, u32 count, count records, u64 FNV-1a
// of everything before it. Records are fixed-size little-endian; version 2
// appends num_after to each (version 1, from traces made before sites
// could move instructions after their jcc, still reads), version 3 the
// chaining fields (chained, falls_through, transfer, num_gap,
// gap_length[kMaxGap], trap_offset as i32). Syscall stubs
// (form 2) need no new field: earlier versions of rrx reject them as
// inconsistent.
namespace {
constexpr char kMagic[8] = {'R', 'R', 'X', 'P', 'M', 'A', 'P', 0};
constexpr uint32_t kVersion = 3;
constexpr size_t kRecordV1 = 8 + 8 + 1 + 1 + 1 + 1 + kMaxRelocated + kMaxRangeBytes;
constexpr size_t kRecordV2 = kRecordV1 + 1;
constexpr size_t kRecord = kRecordV2 + 1 + 1 + 1 + 1 + kMaxGap + 4;

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 0x100000001b3ull;
  return h;
}
template <typename T> void put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T> T get(const char* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

std::string PatchMap::serialize() const {
  load_pending();
  std::string s(kMagic, sizeof kMagic);
  put<uint32_t>(&s, kVersion);
  put<uint32_t>(&s, static_cast<uint32_t>(entries_.size()));
  s.reserve(s.size() + entries_.size() * kRecord + 8);
  for (const PatchEntry& e : entries_) {
    put(&s, e.orig_start);
    put(&s, e.stub_start);
    put(&s, e.orig_length);
    put(&s, e.jcc_length);
    put(&s, static_cast<uint8_t>(e.form));
    put(&s, e.num_relocated);
    s.append(reinterpret_cast<const char*>(e.relocated_length), kMaxRelocated);
    s.append(reinterpret_cast<const char*>(e.original), kMaxRangeBytes);
    put(&s, e.num_after);
    put<uint8_t>(&s, e.chained);
    put<uint8_t>(&s, e.falls_through);
    put(&s, static_cast<uint8_t>(e.transfer));
    put(&s, e.num_gap);
    s.append(reinterpret_cast<const char*>(e.gap_length), kMaxGap);
    put(&s, e.trap_offset);
  }
  put<uint64_t>(&s, fnv1a(s.data(), s.size()));
  return s;
}

bool PatchMap::deserialize(const std::string& b) {
  if (b.size() < 16 + 8 || memcmp(b.data(), kMagic, 8) != 0) return false;
  const uint32_t version = get<uint32_t>(b.data() + 8);
  if (version < 1 || version > kVersion) return false;
  const size_t record = version == 1 ? kRecordV1 : version == 2 ? kRecordV2 : kRecord;
  const uint64_t n = get<uint32_t>(b.data() + 12);
  if ((b.size() - 24) % record != 0 || (b.size() - 24) / record != n) return false;
  if (get<uint64_t>(b.data() + b.size() - 8) != fnv1a(b.data(), b.size() - 8)) return false;
  std::vector<PatchEntry> v(n);
  const char* p = b.data() + 16;
  for (PatchEntry& e : v) {
    e.orig_start = get<uint64_t>(p);
    e.stub_start = get<uint64_t>(p + 8);
    e.orig_length = static_cast<uint8_t>(p[16]);
    e.jcc_length = static_cast<uint8_t>(p[17]);
    e.form = static_cast<StubForm>(p[18]);
    e.num_relocated = static_cast<uint8_t>(p[19]);
    memcpy(e.relocated_length, p + 20, kMaxRelocated);
    memcpy(e.original, p + 20 + kMaxRelocated, kMaxRangeBytes);
    if (version != 1) e.num_after = static_cast<uint8_t>(p[kRecordV1]);
    if (version >= 3) {
      const char* c = p + kRecordV2;
      if (static_cast<uint8_t>(c[0]) > 1 || static_cast<uint8_t>(c[1]) > 1 ||
          static_cast<uint8_t>(c[2]) > 2)
        return false;
      e.chained = c[0];
      e.falls_through = c[1];
      e.transfer = static_cast<GapTransfer>(c[2]);
      e.num_gap = static_cast<uint8_t>(c[3]);
      memcpy(e.gap_length, c + 4, kMaxGap);
      e.trap_offset = get<int32_t>(c + 4 + kMaxGap);
    }
    p += record;
    if (!e.consistent()) return false;
  }
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i].orig_start < v[i - 1].orig_end()) return false;
  pending_ = {};
  entries_ = std::move(v);
  reindex();
  return true;
}

}  // namespace rrx::instrument
