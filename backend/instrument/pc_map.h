// Where an address space's code was patched to count ticks, as a debugger
// (and the recorder, for signals) needs to know it: which stub address
// stands for which program instruction, and what the overwritten bytes
// were. Lookups are O(log n). Immutable once built, so copies can be
// shared between a process's threads, its forks and checkpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "instrument/jcc_scanner.h"

namespace rrx::instrument {

// One patched site at run-time addresses.
struct SiteRecord {
  uint64_t site = 0;  // first overwritten byte (the `jmp` into the stub)
  uint64_t stub = 0;
  uint8_t length = 0;  // bytes overwritten
  uint8_t form = 0;    // StubForm
  uint8_t moved = 0;
  uint8_t moved_len[kMaxMoved] = {};
  uint8_t original[kMaxSiteBytes] = {};
  uint8_t pad[5] = {};
};
static_assert(sizeof(SiteRecord) == 56, "SiteRecord is serialized as is");

struct Translation {
  uint64_t orig_pc = 0;  // the program instruction the thread stands for
  // The thread stands on instrumentation (the jump into a stub, the count,
  // the trap block, the jump back), not on a copy of a program instruction.
  bool in_glue = false;
};

class PatchMap {
 public:
  void add(const std::vector<SiteRecord>& records);
  // Adds every site of `other` (later patches win where they overlap).
  void merge(const PatchMap& other);
  size_t size() const { return sites_.size(); }

  // A real pc outside any patch translates to itself.
  Translation to_original(uint64_t pc) const;
  // Whether `pc` lies in a patched range or a stub of this map (*out then
  // says what it stands for).
  bool translate(uint64_t pc, Translation* out) const;
  // Where the program instruction at `orig_pc` runs: its copy in a stub if
  // it was moved there, the jump into the stub for a site's first byte.
  // nullopt if orig_pc is not patched (it runs where it is) or is not the
  // start of an instruction of a patched site.
  std::optional<uint64_t> to_real(uint64_t orig_pc) const;
  // Puts the original bytes back into `buf`, read from memory at `addr`.
  void show_original(uint64_t addr, uint8_t* buf, size_t len) const;

  std::string serialize() const;
  // False (and unchanged) for anything that is not a serialized map.
  bool deserialize(const std::string& bytes);

 private:
  void reindex();
  static Translation stub_translation(const SiteRecord& r, uint64_t pc);
  const SiteRecord* site_at(uint64_t addr) const;  // addr in [site, site + length)
  const SiteRecord* stub_at(uint64_t addr) const;  // addr inside its stub

  std::vector<SiteRecord> sites_;  // by site address, disjoint
  std::vector<uint32_t> by_stub_;  // indices into sites_, by stub address
};

// Every patch of one address space: one immutable map per patch, shared
// (a copy is a vector of pointers, so forks and checkpoints are cheap).
class PatchSet {
 public:
  void add(std::shared_ptr<const PatchMap> map) { maps_.push_back(std::move(map)); }
  bool empty() const { return maps_.empty(); }
  // As PatchMap's; of overlapping patches the latest counts.
  Translation to_original(uint64_t pc) const;
  std::optional<uint64_t> to_real(uint64_t orig_pc) const;
  void show_original(uint64_t addr, uint8_t* buf, size_t len) const;

 private:
  std::vector<std::shared_ptr<const PatchMap>> maps_;
};

}  // namespace rrx::instrument
