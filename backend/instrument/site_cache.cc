#include "instrument/site_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace rrx::instrument {
namespace {

constexpr char kMagic[8] = {'R', 'R', 'X', 'S', 'I', 'T', 'E', 'S'};
// Layout version of this file format; the scan rules version is stored too.
constexpr uint32_t kFormat = 5;  // 2: syscall site counts; 3: cpuid site counts; 4: chains; 5: transfers

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 0x100000001b3ull;
  return h;
}

class Writer {
 public:
  template <typename T> void put(T v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void bytes(const std::string& b) { put<uint32_t>(static_cast<uint32_t>(b.size())); s_ += b; }
  std::string& str() { return s_; }
 private:
  std::string s_;
};

class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), n_(n) {}
  template <typename T> bool get(T* v) {
    if (n_ - i_ < sizeof(T)) return false;
    memcpy(v, p_ + i_, sizeof(T));
    i_ += sizeof(T);
    return true;
  }
  bool bytes(std::string* b) {
    uint32_t n;
    if (!get(&n) || n_ - i_ < n) return false;
    b->assign(p_ + i_, n);
    i_ += n;
    return true;
  }
  size_t left() const { return n_ - i_; }
 private:
  const char* p_;
  size_t n_, i_ = 0;
};

// Every field of every site, in a fixed order.
constexpr size_t kSiteBytes =
    8 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 8 + kMaxRelocated * (8 + 1 + 1) + 1 + 1 + 1 + kMaxGap * (1 + 1);

}  // namespace

std::string serialize_scan(const ScanResult& r) {
  Writer w;
  w.str().assign(kMagic, sizeof kMagic);
  w.put<uint32_t>(kFormat);
  w.put<uint32_t>(kScanRulesVersion);
  w.put<uint8_t>(r.statically_instrumented);
  w.bytes(r.build_id);
  w.put<uint32_t>(static_cast<uint32_t>(r.segments.size()));
  for (const SegmentStats& s : r.segments) {
    w.put(s.file_offset); w.put(s.file_size); w.put(s.vaddr);
    w.put(s.rel8_found); w.put(s.rel8_patched); w.put(s.rel32_found); w.put(s.rel32_patched);
    w.put(s.syscall_found); w.put(s.syscall_patched);
    w.put(s.cpuid_found); w.put(s.cpuid_patched);
    for (uint32_t k : s.skipped) w.put(k);
  }
  w.put(r.possible_targets);
  w.put(r.landing_pads);
  w.put<uint64_t>(r.sites.size());
  w.str().reserve(w.str().size() + r.sites.size() * kSiteBytes + 8);
  for (const BranchSite& s : r.sites) {
    w.put(s.start); w.put(s.length); w.put(s.jcc_length); w.put(s.cond);
    w.put<uint8_t>(s.rel32); w.put(static_cast<uint8_t>(s.form)); w.put(s.num_relocated);
    w.put(s.num_after);
    w.put(s.taken);
    for (const RelocatedInsn& ri : s.relocated) { w.put(ri.offset); w.put(ri.length); w.put(ri.riprel_at); }
    w.put<uint8_t>(s.chained); w.put(static_cast<uint8_t>(s.transfer)); w.put(s.num_gap);
    for (const GapInsn& g : s.gap) { w.put(g.length); w.put(g.riprel_at); }
  }
  w.put<uint64_t>(fnv1a(w.str().data(), w.str().size()));
  return std::move(w.str());
}

bool deserialize_scan(const std::string& b, ScanResult* out) {
  if (b.size() < sizeof kMagic + 8 || memcmp(b.data(), kMagic, sizeof kMagic) != 0) return false;
  uint64_t sum;
  memcpy(&sum, b.data() + b.size() - 8, 8);
  if (sum != fnv1a(b.data(), b.size() - 8)) return false;
  Reader rd(b.data() + sizeof kMagic, b.size() - sizeof kMagic - 8);
  uint32_t format, rules, nseg;
  uint8_t stat;
  ScanResult r;
  if (!rd.get(&format) || format != kFormat || !rd.get(&rules) || rules != kScanRulesVersion ||
      !rd.get(&stat) || stat > 1 || !rd.bytes(&r.build_id) || !rd.get(&nseg) ||
      nseg > rd.left() / 24)
    return false;
  r.statically_instrumented = stat;
  r.segments.resize(nseg);
  for (SegmentStats& s : r.segments) {
    bool ok = rd.get(&s.file_offset) && rd.get(&s.file_size) && rd.get(&s.vaddr) &&
              rd.get(&s.rel8_found) && rd.get(&s.rel8_patched) && rd.get(&s.rel32_found) &&
              rd.get(&s.rel32_patched) && rd.get(&s.syscall_found) && rd.get(&s.syscall_patched) &&
              rd.get(&s.cpuid_found) && rd.get(&s.cpuid_patched);
    for (uint32_t& k : s.skipped) ok = ok && rd.get(&k);
    if (!ok) return false;
  }
  uint64_t nsites;
  if (!rd.get(&r.possible_targets) || !rd.get(&r.landing_pads) || !rd.get(&nsites) || nsites != rd.left() / kSiteBytes || rd.left() % kSiteBytes) return false;
  r.sites.resize(nsites);
  uint64_t prev_end = 0;
  for (BranchSite& s : r.sites) {
    uint8_t rel32 = 0, form = 0;
    bool ok = rd.get(&s.start) && rd.get(&s.length) && rd.get(&s.jcc_length) && rd.get(&s.cond) &&
              rd.get(&rel32) && rd.get(&form) && rd.get(&s.num_relocated) &&
              rd.get(&s.num_after) && rd.get(&s.taken);
    for (RelocatedInsn& ri : s.relocated)
      ok = ok && rd.get(&ri.offset) && rd.get(&ri.length) && rd.get(&ri.riprel_at);
    uint8_t chained = 0, transfer = 0;
    ok = ok && rd.get(&chained) && rd.get(&transfer) && rd.get(&s.num_gap);
    for (GapInsn& g : s.gap) ok = ok && rd.get(&g.length) && rd.get(&g.riprel_at);
    ok = ok && chained <= 1 && s.num_gap <= kMaxGap &&
         (chained || s.num_gap == 0) && transfer <= 2 && (chained || transfer == 0) &&
         (transfer == 0 || s.num_gap > 0) &&
         (!chained || form == static_cast<uint8_t>(StubForm::kCountBeforeSetter));
    for (int i = 0; ok && i < kMaxGap; ++i) ok = (s.gap[i].length != 0) == (i < s.num_gap);
    s.chained = chained;
    s.transfer = static_cast<GapTransfer>(transfer);
    if (!ok || rel32 > 1 || form > static_cast<uint8_t>(StubForm::kLoop) || s.num_relocated + s.num_after > kMaxRelocated || s.cond > 15 ||
        s.length < 5 || s.length > kMaxRangeBytes || s.start < prev_end ||
        s.start + s.length < s.start)
      return false;
    s.rel32 = rel32;
    s.form = static_cast<StubForm>(form);
    uint64_t at = s.start;
    for (int i = 0; i < s.num_relocated + s.num_after; ++i) {
      if (i == s.num_relocated) at += s.jcc_length;
      if (s.relocated[i].offset != at || s.relocated[i].length == 0) return false;
      at += s.relocated[i].length;
    }
    if (s.num_after == 0) at += s.jcc_length;
    if (at != s.end()) return false;
    prev_end = s.end();
  }
  *out = std::move(r);
  return true;
}

std::string default_cache_dir() {
  if (const char* d = getenv("RRX_CACHE_DIR"); d && *d) return d;
  if (const char* x = getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/rrx/branch-sites";
  if (const char* h = getenv("HOME"); h && *h) return std::string(h) + "/.cache/rrx/branch-sites";
  return std::string();
}

namespace {

// mkdir -p with mode 0700 for the directories we create.
bool make_dirs(const std::string& dir) {
  if (dir.empty()) return false;
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string p = dir.substr(0, i);
      if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
  }
  struct stat st;
  return stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string hex(const std::string& b) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) { s += d[c >> 4]; s += d[c & 15]; }
  return s;
}

bool read_file(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    out->resize(st.st_size);
    size_t got = 0;
    while (got < out->size()) {
      ssize_t n = read(fd, &(*out)[got], out->size() - got);
      if (n <= 0) { ok = false; break; }
      got += n;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

bool load_or_scan(const std::string& path, ScanResult* out, std::string* error,
                  const std::string& cache_dir_arg, LoadOrScanStats* stats) {
  LoadOrScanStats local;
  LoadOrScanStats* st = stats ? stats : &local;
  *st = LoadOrScanStats();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = path + ": " + strerror(errno);
    return false;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    if (error) *error = path + ": not a regular file";
    return false;
  }
  const uint64_t size = sb.st_size;
  const int64_t mtime = int64_t{sb.st_mtim.tv_sec} * 1000000000 + sb.st_mtim.tv_nsec;
  void* map = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  close(fd);
  if (map == MAP_FAILED) {
    if (error) *error = path + ": cannot map";
    return false;
  }
  const uint8_t* file = static_cast<const uint8_t*>(map);

  const std::string build_id = elf_build_id(file, size);
  std::string dir = cache_dir_arg.empty() ? default_cache_dir() : cache_dir_arg;
  std::string key = build_id.empty()
                        ? "f-" + hex(std::string(reinterpret_cast<const char*>(&sb.st_dev), sizeof sb.st_dev)) + "-" +
                              hex(std::string(reinterpret_cast<const char*>(&sb.st_ino), sizeof sb.st_ino)) + "-" +
                              std::to_string(size) + "-" + std::to_string(mtime)
                        : "b-" + hex(build_id);
  std::string entry = dir.empty() ? std::string() : dir + "/" + key;

  // Entry = u64 file size, i64 mtime_ns, serialized scan.
  std::string blob;
  if (!entry.empty() && read_file(entry, &blob) && blob.size() > 16) {
    uint64_t esize;
    int64_t emtime;
    memcpy(&esize, blob.data(), 8);
    memcpy(&emtime, blob.data() + 8, 8);
    ScanResult r;
    if (esize == size && emtime == mtime && deserialize_scan(blob.substr(16), &r) &&
        r.build_id == build_id) {
      munmap(map, size);
      *out = std::move(r);
      st->hit = true;
      return true;
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  ScanResult r;
  std::string err;
  bool ok = scan_elf(file, size, &r, &err);
  st->scan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  munmap(map, size);
  if (!ok) {
    if (error) *error = path + ": " + err;
    return false;
  }
  if (!entry.empty() && make_dirs(dir)) {
    std::string data(16, '\0');
    memcpy(&data[0], &size, 8);
    memcpy(&data[8], &mtime, 8);
    data += serialize_scan(r);
    std::string tmp = entry + ".tmp." + std::to_string(getpid());
    int wfd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd >= 0) {
      size_t done = 0;
      while (done < data.size()) {
        ssize_t n = write(wfd, data.data() + done, data.size() - done);
        if (n <= 0) break;
        done += n;
      }
      bool good = done == data.size() && close(wfd) == 0;
      if (good && rename(tmp.c_str(), entry.c_str()) == 0)
        st->stored = true;
      else
        unlink(tmp.c_str());
    }
  }
  *out = std::move(r);
  return true;
}

}  // namespace rrx::instrument
