#include "instrument/scan_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "trace/crc32.h"

namespace rrx::instrument {
namespace {

constexpr char kMagic[8] = {'R', 'R', 'X', 'S', 'I', 'T', 'E', 'S'};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t statically_instrumented;
  ScanStats stats;
  uint64_t count;
  uint32_t crc;  // of the sites
  uint32_t pad;
};

std::string cache_dir() {
  if (const char* d = getenv("RRX_CACHE_DIR"); d && *d) return d;
  if (const char* d = getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/rrx/branch-sites";
  if (const char* h = getenv("HOME"); h && *h) return std::string(h) + "/.cache/rrx/branch-sites";
  return "";
}

// mkdir -p, owner-only.
bool make_dirs(const std::string& dir) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at == dir.size() || dir[at] == '/') {
      std::string part = dir.substr(0, at);
      if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

std::string cache_key(int fd, const uint8_t* file, size_t size) {
  std::string id = elf_build_id(file, size);
  if (!id.empty()) return id + "-" + std::to_string(size);
  struct stat st;
  if (fstat(fd, &st) != 0) return "";
  return "f" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino) + "-" +
         std::to_string(size) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

bool read_whole(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && st.st_size > 0;
  if (ok) {
    out->resize(static_cast<size_t>(st.st_size));
    ok = pread(fd, out->data(), out->size(), 0) == st.st_size;
  }
  close(fd);
  return ok;
}

}  // namespace

std::string encode_scan(const ScanResult& scan) {
  Header h = {};
  memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kScannerVersion;
  h.statically_instrumented = scan.statically_instrumented;
  h.stats = scan.stats;
  h.count = scan.sites.size();
  h.crc = crc32(scan.sites.data(), scan.sites.size() * sizeof(JccSite));
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(reinterpret_cast<const char*>(scan.sites.data()), scan.sites.size() * sizeof(JccSite));
  return out;
}

bool decode_scan(const std::string& bytes, ScanResult* out) {
  Header h;
  if (bytes.size() < sizeof h) return false;
  memcpy(&h, bytes.data(), sizeof h);
  if (memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kScannerVersion ||
      h.count != (bytes.size() - sizeof h) / sizeof(JccSite) ||
      bytes.size() != sizeof h + h.count * sizeof(JccSite)) {
    return false;
  }
  ScanResult scan;
  scan.statically_instrumented = h.statically_instrumented != 0;
  scan.stats = h.stats;
  scan.sites.resize(h.count);
  memcpy(scan.sites.data(), bytes.data() + sizeof h, h.count * sizeof(JccSite));
  if (crc32(scan.sites.data(), h.count * sizeof(JccSite)) != h.crc) return false;
  *out = std::move(scan);
  return true;
}

bool load_or_scan(int fd, const uint8_t* file, size_t size, ScanResult* out, std::string* error) {
  std::string dir = cache_dir(), key = cache_key(fd, file, size);
  std::string path = dir.empty() || key.empty() ? "" : dir + "/" + key;
  if (!path.empty()) {
    std::string bytes;
    if (read_whole(path, &bytes) && decode_scan(bytes, out)) return true;
  }
  if (!scan_elf(file, size, out, error)) return false;
  // Best effort: without a cache every process start decodes again.
  if (!path.empty() && make_dirs(dir)) {
    std::string tmp = path + ".tmp" + std::to_string(getpid());
    std::string bytes = encode_scan(*out);
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    chmod(tmp.c_str(), 0600);
    if (rename(tmp.c_str(), path.c_str()) != 0) unlink(tmp.c_str());
  }
  return true;
}

}  // namespace rrx::instrument
