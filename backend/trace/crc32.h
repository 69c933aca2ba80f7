// CRC-32 (IEEE 802.3, the zlib/gzip polynomial), used for every checksum in
// a trace. Incremental: feed the previous result back in as `crc`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rrx {

uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

// The same CRC by table lookups alone (slicing by 8): what crc32 falls back
// to without PCLMULQDQ and for short data, and the reference its folding
// is tested against.
uint32_t crc32_by_table(const void* data, size_t size, uint32_t crc = 0);

// crc32 of `count` zero bytes after `crc`, in time logarithmic in count:
// the holes of a sparse file are checksummed without reading them.
uint32_t crc32_zeros(uint64_t count, uint32_t crc = 0);

}  // namespace rrx
