#include "trace/frame.h"

// ZSTD_getFrameHeader is in the "static linking only" part of zstd.h
// (exported by libzstd all the same).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cstring>

#include "trace/crc32.h"

namespace rrx {
namespace {

constexpr char kMagic[4] = {'R', 'R', 'X', 'F'};

// Header layout, little-endian:
//   0 magic "RRXF" | 4 codec u32 | 8 stored_size u64 | 16 raw_size u64 |
//   24 payload_crc u32 | 28 header_crc u32 (CRC-32 of bytes 0..27)
template <typename T>
void put(char* at, T value) {
  std::memcpy(at, &value, sizeof value);
}

template <typename T>
T get(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// The most the zstd frame `stored` can decompress to, from its block
// headers alone (a raw or RLE block says its size; a compressed one makes
// at most ZSTD_BLOCKSIZE_MAX), whatever its content size field claims. 0
// if the blocks do not parse.
uint64_t zstd_output_bound(const void* stored, size_t size) {
  ZSTD_frameHeader frame;
  if (ZSTD_getFrameHeader(&frame, stored, size) != 0 || frame.frameType != ZSTD_frame)
    return 0;
  const auto* bytes = static_cast<const uint8_t*>(stored);
  size_t pos = frame.headerSize;
  uint64_t bound = 0;
  for (;;) {
    if (size - pos < 3) return 0;
    uint32_t block = bytes[pos] | bytes[pos + 1] << 8 | bytes[pos + 2] << 16;
    pos += 3;
    uint32_t type = (block >> 1) & 3, block_size = block >> 3;
    enum { kRaw = 0, kRle = 1, kCompressed = 2 };
    size_t in_frame = type == kRle ? 1 : block_size;
    if (type > kCompressed || size - pos < in_frame) return 0;
    bound += type == kCompressed ? ZSTD_BLOCKSIZE_MAX : block_size;
    pos += in_frame;
    if (block & 1) return bound;  // the last block
  }
}

}  // namespace

bool encode_frame(Codec codec, const void* raw, size_t size, ZSTD_CCtx* cctx,
                  std::string* out, std::string* error) {
  if (size % 8 != 0 || size > kMaxFramePayload) {
    *error = "frame payload of " + std::to_string(size) +
             " bytes is not a whole number of words up to 4 GiB";
    return false;
  }
  size_t bound = codec == Codec::kZstd ? ZSTD_compressBound(size) : size;
  out->resize(kFrameHeaderSize + bound);
  char* payload = out->data() + kFrameHeaderSize;
  size_t stored = size;
  if (codec == Codec::kZstd) {
    // Level 1: recording speed matters more than the last few percent.
    stored = ZSTD_compressCCtx(cctx, payload, bound, raw, size, 1);
    if (ZSTD_isError(stored)) {
      *error = std::string("zstd compression failed: ") +
               ZSTD_getErrorName(stored);
      return false;
    }
  } else if (size > 0) {
    std::memcpy(payload, raw, size);
  }
  out->resize(kFrameHeaderSize + stored);

  char* h = out->data();
  std::memcpy(h, kMagic, 4);
  put<uint32_t>(h + 4, static_cast<uint32_t>(codec));
  put<uint64_t>(h + 8, stored);
  put<uint64_t>(h + 16, size);
  put<uint32_t>(h + 24, crc32(payload, stored));
  put<uint32_t>(h + 28, crc32(h, 28));
  return true;
}

bool parse_frame_header(const void* bytes, FrameHeader* header,
                        std::string* error) {
  const char* h = static_cast<const char*>(bytes);
  if (std::memcmp(h, kMagic, 4) != 0) {
    *error = "bad frame magic";
    return false;
  }
  if (get<uint32_t>(h + 28) != crc32(h, 28)) {
    *error = "frame header CRC mismatch";
    return false;
  }
  uint32_t codec = get<uint32_t>(h + 4);
  header->stored_size = get<uint64_t>(h + 8);
  header->raw_size = get<uint64_t>(h + 16);
  header->payload_crc = get<uint32_t>(h + 24);
  if (codec != static_cast<uint32_t>(Codec::kNone) &&
      codec != static_cast<uint32_t>(Codec::kZstd)) {
    *error = "unknown frame codec " + std::to_string(codec);
    return false;
  }
  header->codec = static_cast<Codec>(codec);
  if (header->raw_size % 8 != 0 || header->raw_size > kMaxFramePayload ||
      header->stored_size > kMaxFramePayload ||
      (header->codec == Codec::kNone &&
       header->stored_size != header->raw_size)) {
    *error = "bad frame sizes";
    return false;
  }
  return true;
}

bool decode_payload(const FrameHeader& header, const void* stored, Words* out,
                    std::string* error) {
  if (crc32(stored, header.stored_size) != header.payload_crc) {
    *error = "frame payload CRC mismatch";
    return false;
  }
  // Passing CRCs do not make the sizes the writer's (the CRCs are easy to
  // recompute): the zstd frame's content size must agree with the raw size,
  // and its blocks must be able to produce that much, before it is
  // allocated, or a few bytes of frame could ask for 4 GiB.
  if (header.codec == Codec::kZstd) {
    if (ZSTD_getFrameContentSize(stored, header.stored_size) != header.raw_size) {
      *error = "zstd frame size disagrees with the frame header";
      return false;
    }
    if (zstd_output_bound(stored, header.stored_size) < header.raw_size) {
      *error = "zstd frame holds less than its content size";
      return false;
    }
  }
  // Release the memory of an outsized earlier payload rather than keep it.
  if (out->capacity() / 4 > header.raw_size / 8) Words().swap(*out);
  out->resize(header.raw_size / 8);
  if (header.codec == Codec::kNone) {
    if (header.raw_size > 0) std::memcpy(out->data(), stored, header.raw_size);
    return true;
  }
  size_t n = ZSTD_decompress(out->data(), header.raw_size, stored,
                             header.stored_size);
  if (ZSTD_isError(n) || n != header.raw_size) {
    *error = std::string("zstd decompression failed: ") +
             (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output");
    return false;
  }
  return true;
}

bool decode_single_frame(const std::string& file, Words* out,
                         std::string* error) {
  FrameHeader header;
  if (file.size() < kFrameHeaderSize) {
    *error = "truncated (" + std::to_string(file.size()) + " bytes)";
    return false;
  }
  if (!parse_frame_header(file.data(), &header, error)) return false;
  if (file.size() - kFrameHeaderSize != header.stored_size) {
    *error = "file is " + std::to_string(file.size()) + " bytes, frame says " +
             std::to_string(kFrameHeaderSize + header.stored_size);
    return false;
  }
  return decode_payload(header, file.data() + kFrameHeaderSize, out, error);
}

}  // namespace rrx
