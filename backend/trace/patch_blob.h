// What one dynamic-instrumentation step wrote into a process (stubs and
// patched code) and the map that hides it from a debugger, as saved under
// a trace's files/ and named by an `instrument` event. One zstd frame with
// a content checksum; the layout inside is ours (patch_blob.cc).
//
// Processes that load the same code at the same addresses (every run of
// one program, every fork) write identical blobs: the recorder saves each
// distinct blob once and replay decodes each once.
#pragma once

#include <string>
#include <vector>

#include "trace/event.h"

namespace rrx {

struct PatchBlob {
  std::vector<MemWrite> writes;  // stub bytes and code overwrites
  std::string patch_map;         // instrument::PatchMap, serialized
};

std::string encode_patch_blob(const PatchBlob& blob);
// False, with one line in *error, for anything that is not a whole blob.
bool decode_patch_blob(const std::string& bytes, PatchBlob* blob, std::string* error);

}  // namespace rrx
