// Every tick patch of one address space (one immutable PatchMap per
// patched mapping, newest last), as the recorder and the debugger-facing
// replay need them. A copy is a vector of pointers, so forks, threads and
// checkpoints share the maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "instrument/patch_map.h"

namespace rrx::instrument {

class PatchSet {
 public:
  // `map` describes the patch of the code at [code_lo, code_hi).
  void add(uint64_t code_lo, uint64_t code_hi, std::shared_ptr<const PatchMap> map) {
    maps_.push_back({code_lo, code_hi, std::move(map)});
  }
  // Forgets the patches of code unmapped in [lo, hi) (what is mapped there
  // next is patched anew, or not at all).
  void erase(uint64_t lo, uint64_t hi);
  bool empty() const { return maps_.empty(); }
  // As PatchMap's; of overlapping patches the latest counts.
  PatchMap::Translation to_original(uint64_t pc) const;
  std::optional<uint64_t> to_real(uint64_t orig_pc) const;
  std::optional<uint64_t> gap_copy(uint64_t orig_pc) const;
  void show_original(uint64_t addr, uint8_t* buf, size_t len) const;

 private:
  struct Patched {
    uint64_t code_lo, code_hi;
    std::shared_ptr<const PatchMap> map;
  };
  std::vector<Patched> maps_;
};

}  // namespace rrx::instrument
