// Frames: the unit of storage in every trace file except `version`.
// A frame is a 32-byte header followed by a payload (see
// docs/trace-format.md, "Frames"). The payload is a whole number of 8-byte
// words of Cap'n Proto messages, stored raw or zstd-compressed.
#pragma once

#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

inline constexpr size_t kFrameHeaderSize = 32;
// Bounds what a reader will allocate for one frame's payload, whatever the
// header claims.
inline constexpr uint64_t kMaxFramePayload = uint64_t{4} << 30;

enum class Codec : uint32_t { kNone = 0, kZstd = 1 };

struct FrameHeader {
  Codec codec = Codec::kNone;
  uint64_t stored_size = 0;  // payload bytes in the file
  uint64_t raw_size = 0;     // payload bytes after decompression
  uint32_t payload_crc = 0;  // CRC-32 of the stored payload bytes
};

// Payloads decode into 8-byte words so Cap'n Proto can read them in place.
using Words = std::vector<uint64_t>;

// Encodes `size` bytes at `raw` as a complete frame (header + payload).
// `cctx` is used for Codec::kZstd and may be null for Codec::kNone.
bool encode_frame(Codec codec, const void* raw, size_t size, ZSTD_CCtx* cctx,
                  std::string* out, std::string* error);

// Parses and checks a frame header (magic, header CRC, codec, sizes).
bool parse_frame_header(const void* bytes, FrameHeader* header,
                        std::string* error);

// Checks the payload CRC and decompresses it into `out`.
bool decode_payload(const FrameHeader& header, const void* stored, Words* out,
                    std::string* error);

// Decodes a file made of exactly one frame.
bool decode_single_frame(const std::string& file, Words* out,
                         std::string* error);

}  // namespace rrx
