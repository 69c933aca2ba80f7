#include "trace/crc32.h"

#include <immintrin.h>

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

namespace {

// ---- Folding with carry-less multiplication (PCLMULQDQ) ----
//
// The CRC of a message equals the CRC of any shorter one congruent to it
// modulo the polynomial P once shifted to the same end. A 128-bit block D
// followed by n more bits is D * x^n; split into its halves it is
// Dhi * x^(n+64) + Dlo * x^n, and each half times (x^k mod P) is a product
// of at most 64 + 33 bits: two carry-less multiplications fold the block
// into the one n bits later. Four blocks are folded at a time (n = 512,
// independent products), then into one (n = 128), and the CRC of that last
// block, with the tail, is taken the table way.

// x^n mod P as the folds multiply by it: bit-reversed (the data is
// reflected) and shifted left by one (a carry-less product of two reflected
// operands comes out one bit low).
constexpr uint64_t fold_constant(int n) {
  uint64_t r = 1;  // x^0, in normal bit order
  for (int i = 0; i < n; ++i) {
    r <<= 1;
    if (r & (uint64_t{1} << 32)) r ^= 0x104C11DB7ull;  // P
  }
  uint64_t reflected = 0;
  for (int i = 0; i < 32; ++i) {
    if (r & (uint64_t{1} << i)) reflected |= uint64_t{1} << (31 - i);
  }
  return reflected << 1;
}

// For each pair: the low half of a register holds the block's first 64
// bits, the higher powers of x (32 more than the distance); the high half
// the next 64 (32 fewer).
constexpr uint64_t kFold4First = fold_constant(4 * 128 + 32);
constexpr uint64_t kFold4Second = fold_constant(4 * 128 - 32);
constexpr uint64_t kFold1First = fold_constant(128 + 32);
constexpr uint64_t kFold1Second = fold_constant(128 - 32);

__attribute__((target("pclmul"))) inline __m128i fold(__m128i block, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(block, k, 0x00),
                                     _mm_clmulepi64_si128(block, k, 0x11)),
                       next);
}

__attribute__((target("pclmul"))) uint32_t crc32_folded(const unsigned char* p, size_t size,
                                                        uint32_t crc) {
  auto load = [](const unsigned char* at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  };
  // The register's initial value goes over the first 32 bits, as in the
  // table loop.
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(~crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  size -= 64;
  const __m128i k4 = _mm_set_epi64x(static_cast<long long>(kFold4Second),
                                    static_cast<long long>(kFold4First));
  for (; size >= 64; p += 64, size -= 64) {
    x0 = fold(x0, k4, load(p));
    x1 = fold(x1, k4, load(p + 16));
    x2 = fold(x2, k4, load(p + 32));
    x3 = fold(x3, k4, load(p + 48));
  }
  const __m128i k1 = _mm_set_epi64x(static_cast<long long>(kFold1Second),
                                    static_cast<long long>(kFold1First));
  x3 = fold(fold(fold(x0, k1, x1), k1, x2), k1, x3);
  for (; size >= 16; p += 16, size -= 16) x3 = fold(x3, k1, load(p));
  unsigned char last[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(last), x3);
  // The folded block stands for everything so far, from a zero register.
  return crc32_by_table(p, size, crc32_by_table(last, sizeof last, ~0u));
}

bool has_pclmul() {
  static const bool has = __builtin_cpu_supports("pclmul");  // (SSE2 is x86-64's baseline)
  return has;
}

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size >= 64 && has_pclmul()) return crc32_folded(p, size, crc);
  return crc32_by_table(p, size, crc);
}

uint32_t crc32_by_table(const void* data, size_t size, uint32_t crc) {
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
