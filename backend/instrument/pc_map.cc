#include "instrument/pc_map.h"

#include <algorithm>
#include <cstring>

#include "instrument/stub_layout.h"

namespace rrx::instrument {
namespace {

constexpr char kMagic[8] = {'R', 'R', 'X', 'P', 'C', 'M', 'A', 'P'};

uint32_t stub_size(const SiteRecord& r) { return stub_layout(r.form, r.moved, r.moved_len).size; }

uint32_t moved_total(const SiteRecord& r) {
  uint32_t n = 0;
  for (int i = 0; i < r.moved; ++i) n += r.moved_len[i];
  return n;
}

bool valid(const SiteRecord& r) {
  if (r.moved > kMaxMoved || r.length > kMaxSiteBytes || r.form > 1) return false;
  uint32_t jcc_len = r.length - moved_total(r);
  return r.length >= 5 && (jcc_len == 2 || jcc_len == 6) && moved_total(r) < r.length;
}

}  // namespace

void PatchMap::add(const std::vector<SiteRecord>& records) {
  sites_.insert(sites_.end(), records.begin(), records.end());
  reindex();
}

void PatchMap::merge(const PatchMap& other) { add(other.sites_); }

// Sorts by site address; of overlapping sites the one added last stays
// (code mapped again at the same place was patched again).
void PatchMap::reindex() {
  std::vector<uint32_t> order(sites_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return sites_[a].site < sites_[b].site; });
  std::vector<SiteRecord> kept;
  kept.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const SiteRecord& r = sites_[order[i]];
    // Among sites starting at the same place, take the latest added.
    if (i + 1 < order.size() && sites_[order[i + 1]].site == r.site) continue;
    while (!kept.empty() && kept.back().site + kept.back().length > r.site) kept.pop_back();
    kept.push_back(r);
  }
  sites_ = std::move(kept);
  by_stub_.resize(sites_.size());
  for (uint32_t i = 0; i < by_stub_.size(); ++i) by_stub_[i] = i;
  std::sort(by_stub_.begin(), by_stub_.end(),
            [&](uint32_t a, uint32_t b) { return sites_[a].stub < sites_[b].stub; });
}

const SiteRecord* PatchMap::site_at(uint64_t addr) const {
  auto it = std::upper_bound(sites_.begin(), sites_.end(), addr,
                             [](uint64_t a, const SiteRecord& r) { return a < r.site; });
  if (it == sites_.begin()) return nullptr;
  --it;
  return addr < it->site + it->length ? &*it : nullptr;
}

const SiteRecord* PatchMap::stub_at(uint64_t addr) const {
  auto it = std::upper_bound(by_stub_.begin(), by_stub_.end(), addr,
                             [&](uint64_t a, uint32_t i) { return a < sites_[i].stub; });
  if (it == by_stub_.begin()) return nullptr;
  const SiteRecord& r = sites_[*(it - 1)];
  return addr < r.stub + stub_size(r) ? &r : nullptr;
}

Translation PatchMap::to_original(uint64_t pc) const {
  Translation t{pc, false};
  translate(pc, &t);
  return t;
}

bool PatchMap::translate(uint64_t pc, Translation* out) const {
  if (const SiteRecord* r = site_at(pc)) {
    // The jump into the stub stands for the site's first instruction;
    // the rest of the range is never executed.
    *out = {pc, pc == r->site};
    return true;
  }
  const SiteRecord* r = stub_at(pc);
  if (!r) return false;
  *out = stub_translation(*r, pc);
  return true;
}

Translation PatchMap::stub_translation(const SiteRecord& site, uint64_t pc) {
  const SiteRecord* r = &site;
  StubLayout l = stub_layout(r->form, r->moved, r->moved_len);
  uint32_t off = static_cast<uint32_t>(pc - r->stub);
  uint64_t orig = r->site;
  for (int i = 0; i < r->moved; ++i) {
    if (off == l.moved_at[i]) return {orig, false};
    if (off > l.moved_at[i] && off < l.moved_at[i] + r->moved_len[i]) return {orig, true};
    orig += r->moved_len[i];
  }
  uint64_t jcc = orig;  // after the moved instructions
  uint64_t resume_orig = l.resume == l.jcc_at ? jcc : jcc - r->moved_len[r->moved - 1];
  if (off == l.jcc_at) return {jcc, false};
  if (off >= l.jmp_at && off < l.trap_at) return {r->site + r->length, true};
  return {resume_orig, true};  // the count or the trap block
}

Translation PatchSet::to_original(uint64_t pc) const {
  Translation t{pc, false};
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    if ((*it)->translate(pc, &t)) break;
  }
  return t;
}

std::optional<uint64_t> PatchSet::to_real(uint64_t orig_pc) const {
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    if (auto real = (*it)->to_real(orig_pc)) return real;
  }
  return std::nullopt;
}

void PatchSet::show_original(uint64_t addr, uint8_t* buf, size_t len) const {
  for (const auto& map : maps_) map->show_original(addr, buf, len);
}

std::optional<uint64_t> PatchMap::to_real(uint64_t orig_pc) const {
  const SiteRecord* r = site_at(orig_pc);
  if (!r) return std::nullopt;
  if (orig_pc == r->site) return orig_pc;
  StubLayout l = stub_layout(r->form, r->moved, r->moved_len);
  uint64_t orig = r->site;
  for (int i = 0; i < r->moved; ++i) {
    if (orig == orig_pc) return r->stub + l.moved_at[i];
    orig += r->moved_len[i];
  }
  if (orig == orig_pc) return r->stub + l.jcc_at;
  return std::nullopt;
}

void PatchMap::show_original(uint64_t addr, uint8_t* buf, size_t len) const {
  auto it = std::upper_bound(sites_.begin(), sites_.end(), addr,
                             [](uint64_t a, const SiteRecord& r) { return a < r.site; });
  if (it != sites_.begin()) --it;
  for (; it != sites_.end() && it->site < addr + len; ++it) {
    for (uint32_t i = 0; i < it->length; ++i) {
      uint64_t at = it->site + i;
      if (at >= addr && at < addr + len) buf[at - addr] = it->original[i];
    }
  }
}

std::string PatchMap::serialize() const {
  std::string out(kMagic, sizeof kMagic);
  uint64_t n = sites_.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(sites_.data()), n * sizeof(SiteRecord));
  return out;
}

bool PatchMap::deserialize(const std::string& bytes) {
  uint64_t n = 0;
  if (bytes.size() < sizeof kMagic + sizeof n || memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return false;
  }
  memcpy(&n, bytes.data() + sizeof kMagic, sizeof n);
  if (n > (bytes.size() - sizeof kMagic - sizeof n) / sizeof(SiteRecord) ||
      bytes.size() != sizeof kMagic + sizeof n + n * sizeof(SiteRecord)) {
    return false;
  }
  std::vector<SiteRecord> records(n);
  memcpy(records.data(), bytes.data() + sizeof kMagic + sizeof n, n * sizeof(SiteRecord));
  for (const SiteRecord& r : records) {
    if (!valid(r)) return false;
  }
  sites_ = std::move(records);
  reindex();
  return true;
}

}  // namespace rrx::instrument
