// Turns the sites of one mapping into bytes: the stubs, laid out
// back to back from a given address (stub_layout.h), the overwritten code,
// and the records of the pc map. Pure; the tracer writes the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "instrument/jcc_scanner.h"
#include "instrument/pc_map.h"

namespace rrx::instrument {

// A mapping of `file`: file offsets [lo, hi) at addresses offset + delta.
struct MappedCode {
  const uint8_t* file = nullptr;
  size_t file_size = 0;
  uint64_t lo = 0, hi = 0;
  int64_t delta = 0;
};

struct EmittedPatch {
  std::string stubs;  // to place at the stub base
  // The whole mapping [lo, hi) as it must read: the file's bytes (zeros
  // past its end), the sites overwritten.
  std::string code;
  std::vector<SiteRecord> records;
  uint64_t rel8 = 0, rel32 = 0;  // sites patched
};

// Upper bound of the stub bytes `sites` can need.
size_t max_stub_bytes(size_t sites);

// Emits every site of `sites` (a scan of code.file) that lies inside the
// mapping, with stubs from `stub_base` on, as long as they fit into
// `stub_room` bytes and every jump reaches (rel32).
void emit_patch(const std::vector<JccSite>& sites, const MappedCode& code, uint64_t stub_base,
                size_t stub_room, EmittedPatch* out);

}  // namespace rrx::instrument
