// CRC-32 (IEEE 802.3, the zlib/gzip polynomial), used for every checksum in
// a trace. Incremental: feed the previous result back in as `crc`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rrx {

uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace rrx
