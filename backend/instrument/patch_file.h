// The file one mapping's tick patch lives in, which the recorder and the
// replayer map into the process instead of writing the bytes (processes
// then share the patched pages through the page cache, and only the pages
// a program runs are ever read):
//
//   [0, code_len)                     the mapping's code, sites overwritten
//   [code_len, code_len + stubs_len)  the stubs
//   then the serialized PatchMap, and a 32-byte trailer: code_len,
//   stubs_len, map_len (u64 each) and the magic "RRXPATCH".
//
// code_len and stubs_len are multiples of the page size.
#pragma once

#include <cstdint>
#include <string>

#include "instrument/patch_map.h"

namespace rrx::instrument {

// Bump when the stubs, the code overwrites or this layout change: patch
// files kept by earlier versions (the recorder's patch cache) are then
// made again.
inline constexpr uint32_t kPatchFormatVersion = 6;  // 3: syscall stubs; 4: chained stubs; 5: transfers; 6: loops

struct PatchFileLayout {
  uint64_t code_len = 0;
  uint64_t stubs_len = 0;
};

// The whole file. `code` and `stubs` are padded to pages (stubs with int3).
std::string build_patch_file(const std::string& code, const std::string& stubs,
                             const PatchMap& map, PatchFileLayout* layout);

// Reads the layout and the map back from the file at `path`. False (one
// line in *error) for anything that is not a whole patch file.
bool read_patch_file(const std::string& path, PatchFileLayout* layout, PatchMap* map,
                     std::string* error);
// The same with the map read only when first used (PatchMap::load_lazily):
// the file's trailer is checked now, the map's own checksum then.
bool read_patch_file_lazily(const std::string& path, PatchFileLayout* layout, PatchMap* map,
                            std::string* error);

}  // namespace rrx::instrument
