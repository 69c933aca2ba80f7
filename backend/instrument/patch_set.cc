#include "instrument/patch_set.h"

namespace rrx::instrument {

// A map that does not know `pc` gives it back unchanged and not as glue.
PatchMap::Translation PatchSet::to_original(uint64_t pc) const {
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    PatchMap::Translation t = it->map->to_original(pc);
    if (t.orig_pc != pc || t.in_glue) return t;
  }
  return {pc, false};
}

// A map gives back what it does not patch (and a site's first byte)
// unchanged.
std::optional<uint64_t> PatchSet::to_real(uint64_t orig_pc) const {
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    std::optional<uint64_t> real = it->map->to_real(orig_pc);
    if (!real || *real != orig_pc) return real;
  }
  return orig_pc;
}

std::optional<uint64_t> PatchSet::gap_copy(uint64_t orig_pc) const {
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it)
    if (std::optional<uint64_t> copy = it->map->gap_copy(orig_pc)) return copy;
  return std::nullopt;
}

void PatchSet::show_original(uint64_t addr, uint8_t* buf, size_t len) const {
  for (const Patched& p : maps_) p.map->show_original(addr, buf, len);
}

void PatchSet::erase(uint64_t lo, uint64_t hi) {
  std::vector<Patched> kept;
  for (Patched& p : maps_) {
    if (p.code_hi <= lo || p.code_lo >= hi) kept.push_back(std::move(p));
  }
  maps_ = std::move(kept);
}

}  // namespace rrx::instrument
