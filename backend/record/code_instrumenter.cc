#include "record/code_instrumenter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <vector>

#include "core/proc_maps.h"
#include "core/tick_counter.h"
#include "instrument/jcc_scanner.h"
#include "instrument/pc_map.h"
#include "instrument/scan_cache.h"
#include "instrument/stub_writer.h"
#include "trace/patch_blob.h"

namespace rrx {
namespace {

// Stub areas: reserved generously (MAP_NORESERVE: untouched pages cost
// nothing) so that a process usually needs one per 2 GiB neighbourhood.
constexpr uint64_t kAreaMin = uint64_t{64} << 20;
constexpr uint64_t kAreaAlign = uint64_t{2} << 20;
// rel32 reaches +-2 GiB; keep code and stubs well inside that.
constexpr uint64_t kReach = (uint64_t{2} << 30) - (uint64_t{64} << 20);

// The file behind a mapping, opened as the kernel sees it (map_files
// survives the path being replaced), else by path.
int open_mapped_file(pid_t tid, const Mapping& m) {
  char name[96];
  snprintf(name, sizeof name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, tid, m.start, m.end);
  int fd = open(name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_ino != m.inode || !S_ISREG(st.st_mode))) {
    close(fd);
    fd = -1;
  }
  return fd;
}

// A whole file, mapped read-only into the recorder.
class FileBytes {
 public:
  explicit FileBytes(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) return;
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<const uint8_t*>(p);
    size_ = static_cast<size_t>(st.st_size);
  }
  ~FileBytes() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

bool within_reach(uint64_t a_lo, uint64_t a_hi, uint64_t b_lo, uint64_t b_hi) {
  uint64_t lo = std::min(a_lo, b_lo), hi = std::max(a_hi, b_hi);
  return hi - lo < kReach;
}

// A free range of `len` bytes within rel32 reach of [lo, hi): first 1 GiB
// below the code (away from where the kernel puts new mappings next), then
// further down, then above. 0 if there is none.
uint64_t free_area_near(pid_t tid, uint64_t lo, uint64_t hi, uint64_t len) {
  std::vector<Mapping> maps = read_mappings(tid);
  auto is_free = [&](uint64_t at) {
    if (at < (uint64_t{1} << 20) || at + len > (uint64_t{1} << 47) || at + len < at) return false;
    for (const Mapping& m : maps) {
      if (at < m.end && m.start < at + len) return false;
    }
    return within_reach(at, at + len, lo, hi);
  };
  const uint64_t gib = uint64_t{1} << 30, step = uint64_t{256} << 20;
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t below = lo > gib + i * step + len ? (lo - gib - i * step - len) & ~(kAreaAlign - 1) : 0;
    if (below && is_free(below)) return below;
  }
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t above = (hi + gib / 2 + i * step + kAreaAlign - 1) & ~(kAreaAlign - 1);
    if (is_free(above)) return above;
  }
  return 0;
}

bool never_patched(const Mapping& m) {
  // Its buffering code takes other paths in replay than when recording:
  // counting there would make the counts differ.
  return m.path.find("librrx_preload.so") != std::string::npos;
}

}  // namespace

struct Area {
  uint64_t addr = 0, len = 0, used = 0;
};

struct CodeInstrumenter::AddressSpace {
  std::vector<Area> areas;
  std::set<uint64_t> patched;  // start addresses of patched mappings
  instrument::PatchSet patches;
};

// One mapping's patch, as applied to a process whose stub areas were
// `areas_before`; applying it leaves them as `areas_after`.
struct CodeInstrumenter::Patch {
  std::vector<Area> areas_before, areas_after;
  std::vector<MemRange> new_areas;
  std::vector<MemWrite> writes;
  std::shared_ptr<const instrument::PatchMap> map;
  std::string saved_name;
};

struct CodeInstrumenter::Totals {
  std::set<std::string> objects;  // patched, by path
  std::set<std::string> static_objects;
  uint64_t rel8_found = 0, rel8_patched = 0, rel32_found = 0, rel32_patched = 0;
};

CodeInstrumenter::CodeInstrumenter(TraceWriter& writer)
    : writer_(writer), totals_(std::make_unique<Totals>()) {}
CodeInstrumenter::~CodeInstrumenter() = default;

CodeInstrumenter::AddressSpace& CodeInstrumenter::space(pid_t tgid) {
  auto& s = spaces_[tgid];
  if (!s) s = std::make_shared<AddressSpace>();
  return *s;
}

void CodeInstrumenter::on_exec(pid_t tgid) { spaces_[tgid] = std::make_shared<AddressSpace>(); }

void CodeInstrumenter::on_new_process(pid_t parent, pid_t child, bool shares_memory) {
  auto it = spaces_.find(parent);
  if (it == spaces_.end()) return;
  spaces_[child] = shares_memory ? it->second : std::make_shared<AddressSpace>(*it->second);
}

void CodeInstrumenter::on_process_gone(pid_t tgid) { spaces_.erase(tgid); }

bool CodeInstrumenter::in_glue(pid_t tgid, uint64_t pc) const {
  auto it = spaces_.find(tgid);
  return it != spaces_.end() && it->second->patches.to_original(pc).in_glue;
}

// Saved under files/ through a temporary file (the trace's file saver
// takes paths); the caller keeps one saved name per distinct patch.
std::string CodeInstrumenter::save_blob(const std::string& blob, std::string* error) {
  std::string tmp = writer_.dir() + "/patch";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, blob.data(), blob.size()) == static_cast<ssize_t>(blob.size());
  struct stat st;
  ok = ok && fstat(fd, &st) == 0;
  if (fd >= 0) close(fd);
  std::string name = ok ? writer_.save_file(tmp, st, true, error) : "";
  if (!ok && error->empty()) *error = "cannot write " + tmp;
  unlink(tmp.c_str());
  return name;
}

namespace {

std::string area_key(const std::vector<Area>& areas) {
  std::string key;
  for (const Area& a : areas) {
    key += std::to_string(a.addr) + "+" + std::to_string(a.len) + "/" + std::to_string(a.used) + ";";
  }
  return key;
}

}  // namespace

// Decodes (through the site cache), places and emits the patch of one
// mapping; nullptr (and no error) if it is left uncounted.
std::shared_ptr<const CodeInstrumenter::Patch> CodeInstrumenter::make_patch(
    Task& task, AddressSpace& as, const Mapping& m, std::vector<MemRange>* new_areas,
    std::string* error) {
  int fd = open_mapped_file(task.tid(), m);
  if (fd < 0) return nullptr;
  struct stat st;
  fstat(fd, &st);
  std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                    std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec) + "@" + std::to_string(m.start) + "-" +
                    std::to_string(m.end) + "+" + std::to_string(m.offset) + "|" +
                    area_key(as.areas);
  auto known = patches_.find(key);
  if (known != patches_.end()) {
    close(fd);
    return known->second;
  }
  FileBytes file(fd);
  instrument::ScanResult scan;
  std::string scan_error;
  bool scanned =
      file.data() && instrument::load_or_scan(fd, file.data(), file.size(), &scan, &scan_error);
  close(fd);
  if (!scanned) return nullptr;
  if (scan.statically_instrumented) {
    totals_->static_objects.insert(m.path);
    return nullptr;
  }
  instrument::MappedCode code;
  code.file = file.data();
  code.file_size = file.size();
  code.lo = m.offset;
  code.hi = m.offset + (m.end - m.start);
  code.delta = static_cast<int64_t>(m.start) - static_cast<int64_t>(m.offset);
  auto first = std::lower_bound(scan.sites.begin(), scan.sites.end(), code.lo,
                                [](const instrument::JccSite& s, uint64_t lo) { return s.start < lo; });
  auto last = std::lower_bound(first, scan.sites.end(), code.hi,
                               [](const instrument::JccSite& s, uint64_t hi) { return s.start < hi; });
  totals_->rel8_found += scan.stats.rel8_found;
  totals_->rel32_found += scan.stats.rel32_found;
  if (first == last) return nullptr;

  auto patch = std::make_shared<Patch>();
  patch->areas_before = as.areas;
  std::vector<Area> areas = as.areas;
  size_t need = instrument::max_stub_bytes(static_cast<size_t>(last - first));
  Area* area = nullptr;
  for (Area& a : areas) {
    if (a.len - a.used >= need && within_reach(a.addr, a.addr + a.len, m.start, m.end)) area = &a;
  }
  if (!area) {
    uint64_t len = std::max(kAreaMin, (need + kAreaAlign - 1) / kAreaAlign * kAreaAlign);
    uint64_t at = free_area_near(task.tid(), m.start, m.end, len);
    if (!at) return nullptr;  // no room in reach: runs uncounted
    areas.push_back({at, len, 0});
    patch->new_areas.push_back({at, len});
    area = &areas.back();
  }
  instrument::EmittedPatch emitted;
  instrument::emit_patch(scan.sites, code, area->addr + area->used, area->len - area->used, &emitted);
  if (emitted.records.empty()) return nullptr;
  patch->writes.push_back({area->addr + area->used, std::move(emitted.stubs)});
  for (auto& [addr, bytes] : emitted.code) patch->writes.push_back({addr, std::move(bytes)});
  area->used += (patch->writes.front().data.size() + 15) & ~size_t{15};
  patch->areas_after = areas;
  auto map = std::make_shared<instrument::PatchMap>();
  map->add(emitted.records);
  patch->map = map;
  totals_->rel8_patched += emitted.rel8;
  totals_->rel32_patched += emitted.rel32;
  PatchBlob blob{patch->writes, patch->map->serialize()};
  patch->saved_name = save_blob(encode_patch_blob(blob), error);
  if (patch->saved_name.empty()) return nullptr;
  totals_->objects.insert(m.path);
  patches_[key] = patch;
  return patch;
}

bool CodeInstrumenter::instrument(Task& task, pid_t tgid, uint64_t lo, uint64_t hi,
                                  std::vector<Event>* events, std::string* error) {
  AddressSpace& as = space(tgid);
  for (const Mapping& m : read_mappings(task.tid())) {
    if (m.end <= lo || m.start >= hi || !m.exec || m.shared || m.inode == 0 ||
        as.patched.count(m.start) || never_patched(m)) {
      continue;
    }
    as.patched.insert(m.start);
    std::vector<MemRange> unused;
    std::shared_ptr<const Patch> patch = make_patch(task, as, m, &unused, error);
    if (!patch) {
      if (!error->empty()) return false;
      continue;
    }
    for (const MemRange& area : patch->new_areas) {
      if (!map_stub_area(task, area.addr, area.len)) {
        *error = "cannot map tick stubs into process " + std::to_string(tgid);
        return false;
      }
    }
    for (const MemWrite& w : patch->writes) {
      if (!task.write_mem(w.addr, w.data.data(), w.data.size())) {
        *error = "cannot write the tick instrumentation into process " + std::to_string(tgid);
        return false;
      }
    }
    as.areas = patch->areas_after;
    as.patches.add(patch->map);
    Event event;
    event.tid = task.tid();
    event.kind = EventKind::kInstrument;
    task.get_regs(&event.regs);
    event.stub_areas = patch->new_areas;
    event.patch_saved_name = patch->saved_name;
    events->push_back(std::move(event));
  }
  return true;
}

std::string CodeInstrumenter::summary() const {
  const Totals& t = *totals_;
  if (t.objects.empty()) return "";
  uint64_t found = t.rel8_found + t.rel32_found, done = t.rel8_patched + t.rel32_patched;
  char line[256];
  snprintf(line, sizeof line,
           "ticks: %zu objects patched, %.1f%% of their conditional branches counted "
           "(short %" PRIu64 "/%" PRIu64 ", near %" PRIu64 "/%" PRIu64 ")%s",
           t.objects.size(), found ? 100.0 * static_cast<double>(done) / static_cast<double>(found) : 100.0,
           t.rel8_patched, t.rel8_found, t.rel32_patched, t.rel32_found,
           t.static_objects.empty() ? "" : "; statically instrumented objects count themselves");
  return line;
}

}  // namespace rrx
