#include "trace/patch_blob.h"

#include <zstd.h>

#include <cstdint>
#include <cstring>

namespace rrx {
namespace {

// Raw layout: magic, u32 write count, per write {u64 addr, u32 size,
// bytes}, u32 map size, map bytes. Little endian, as the only host is.
constexpr char kMagic[8] = {'R', 'R', 'X', 'P', 'A', 'T', 'C', '1'};
constexpr uint64_t kMaxRawSize = uint64_t{1} << 32;

template <typename T>
void put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

class Cursor {
 public:
  explicit Cursor(const std::string& s) : s_(s) {}
  template <typename T>
  bool get(T* value) {
    if (s_.size() - pos_ < sizeof *value) return false;
    memcpy(value, s_.data() + pos_, sizeof *value);
    pos_ += sizeof *value;
    return true;
  }
  bool bytes(size_t n, std::string* out) {
    if (s_.size() - pos_ < n) return false;
    out->assign(s_, pos_, n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

std::string encode_patch_blob(const PatchBlob& blob) {
  std::string raw(kMagic, sizeof kMagic);
  put<uint32_t>(&raw, static_cast<uint32_t>(blob.writes.size()));
  for (const MemWrite& w : blob.writes) {
    put<uint64_t>(&raw, w.addr);
    put<uint32_t>(&raw, static_cast<uint32_t>(w.data.size()));
    raw += w.data;
  }
  put<uint32_t>(&raw, static_cast<uint32_t>(blob.patch_map.size()));
  raw += blob.patch_map;

  std::string out(ZSTD_compressBound(raw.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cctx);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

bool decode_patch_blob(const std::string& bytes, PatchBlob* blob, std::string* error) {
  unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxRawSize) {
    *error = "not a patch (no zstd frame)";
    return false;
  }
  std::string raw(size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(n) || n != size) {
    *error = std::string("damaged patch: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
    return false;
  }
  Cursor in(raw);
  std::string magic;
  uint32_t count = 0;
  if (!in.bytes(sizeof kMagic, &magic) || memcmp(magic.data(), kMagic, sizeof kMagic) != 0 ||
      !in.get(&count)) {
    *error = "not a patch (bad magic)";
    return false;
  }
  blob->writes.clear();
  for (uint32_t i = 0; i < count; ++i) {
    MemWrite w;
    uint32_t len = 0;
    if (!in.get(&w.addr) || !in.get(&len) || !in.bytes(len, &w.data)) {
      *error = "truncated patch";
      return false;
    }
    blob->writes.push_back(std::move(w));
  }
  uint32_t map_len = 0;
  if (!in.get(&map_len) || !in.bytes(map_len, &blob->patch_map) || !in.at_end()) {
    *error = "truncated patch";
    return false;
  }
  return true;
}

}  // namespace rrx
