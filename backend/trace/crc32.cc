#include "trace/crc32.h"

#include <array>
#include <cstring>

namespace rrx {
namespace {

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero
// bytes, which lets the loop fold eight input bytes per step.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (c & 1 ? 0xEDB88320u : 0);
    t[0][b] = c;
  }
  for (int k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b)
      t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

// a * b modulo the CRC polynomial, in its bit-reflected form (bit 31 is
// the coefficient of x^0).
uint32_t multiply_mod_poly(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b >> 1) ^ (b & 1 ? 0xEDB88320u : 0);  // b * x
  }
  return product;
}

}  // namespace

// A zero byte only shifts the CRC register: n of them multiply it by
// x^(8n) modulo the polynomial, found by repeated squaring.
uint32_t crc32_zeros(uint64_t count, uint32_t crc) {
  uint32_t power = 1u << 31;        // x^0
  uint32_t square = 1u << (31 - 8);  // x^8: one byte
  for (; count != 0; count >>= 1) {
    if (count & 1) power = multiply_mod_poly(power, square);
    square = multiply_mod_poly(square, square);
  }
  return ~multiply_mod_poly(power, ~crc);
}

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (size >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian: x86-64 only
    v ^= crc;
    crc = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^
          kTables[5][(v >> 16) & 0xff] ^ kTables[4][(v >> 24) & 0xff] ^
          kTables[3][(v >> 32) & 0xff] ^ kTables[2][(v >> 40) & 0xff] ^
          kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    p += 8;
    size -= 8;
  }
  while (size--) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

}  // namespace rrx
