// The small files of a trace: `header` and the `complete` marker, each one
// frame holding one Cap'n Proto message, and `files.manifest`, a sequence
// of such frames (one per saved file, appended as they are saved).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/event.h"

namespace rrx {

// One file saved under files/.
struct SavedFileInfo {
  std::string name;           // under files/
  std::string original_path;  // at record time
  uint64_t size = 0;
  int64_t mtime_ns = 0;       // of the original at record time
  uint32_t crc32 = 0;         // of the saved contents
};

// Length and CRC-32 of a whole file.
struct FileDigest {
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

struct CompleteMarker {
  TraceSummary summary;
  FileDigest events;
  FileDigest header;
  FileDigest files_manifest;
};

// Saved names are single path components made of [A-Za-z0-9._+-].
bool is_saved_name_char(char c);
bool is_valid_saved_name(const std::string& name);

std::string encode_header_file(const TraceHeader& header);
bool decode_header_file(const std::string& file, TraceHeader* out,
                        std::string* error);

// One frame listing `files`.
std::string encode_manifest(const std::vector<SavedFileInfo>& files);
// Decodes every frame of `file` into *out. On damage returns false + *error
// and leaves in *out the entries of the frames before it.
bool decode_manifest(const std::string& file, std::vector<SavedFileInfo>* out,
                     std::string* error);

std::string encode_marker(const CompleteMarker& marker);
bool decode_marker(const std::string& file, CompleteMarker* out,
                   std::string* error);

}  // namespace rrx
