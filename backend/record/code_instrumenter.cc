#include "record/code_instrumenter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "core/proc_maps.h"
#include "core/tick_counter.h"
#include "instrument/branch_sites.h"
#include "instrument/patch_file.h"
#include "instrument/patch_map.h"
#include "instrument/patch_set.h"
#include "instrument/site_cache.h"
#include "instrument/stub_emitter.h"

namespace rrx {
namespace {

// Stub mappings start on 2 MiB boundaries (fewer distinct placements).
constexpr uint64_t kAreaAlign = uint64_t{2} << 20;
// Room reserved per site: more than the largest stub (form B with four
// moved instructions).
constexpr uint64_t kMaxStubBytes = 128;
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
uint64_t free_area_near(const std::vector<Mapping>& maps, uint64_t lo, uint64_t hi, uint64_t len) {
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

struct CodeInstrumenter::AddressSpace {
  std::set<uint64_t> patched;  // start addresses of patched mappings
  instrument::PatchSet patches;
};

// One mapping's patch: its file in the trace and where it goes.
struct CodeInstrumenter::Patch {
  MemRange code, stubs;
  std::string saved_name;  // under the trace's files/
  std::shared_ptr<const instrument::PatchMap> map;
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
// takes paths).
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

// Decodes (through the site cache), places and emits the patch of one
// mapping; nullptr (and no error) if it is left uncounted.
std::shared_ptr<const CodeInstrumenter::Patch> CodeInstrumenter::make_patch(
    Task& task, const Mapping& m, const std::vector<Mapping>& maps, std::string* error) {
  int fd = open_mapped_file(task.tid(), m);
  if (fd < 0) return nullptr;
  FileBytes file(fd);
  struct stat st;
  bool stated = fstat(fd, &st) == 0;
  close(fd);
  std::string identity = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
                         "." + std::to_string(st.st_mtim.tv_nsec);
  std::shared_ptr<const instrument::ScanResult>& cached = scans_[identity];
  if (!cached && stated && file.data()) {
    auto fresh = std::make_shared<instrument::ScanResult>();
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, task.tid(), m.start, m.end);
    if (instrument::load_or_scan(path, fresh.get()) || instrument::load_or_scan(m.path, fresh.get())) {
      cached = fresh;
    }
  }
  if (!cached) return nullptr;
  const instrument::ScanResult& scan = *cached;
  if (scan.statically_instrumented) {
    totals_->static_objects.insert(m.path);
    return nullptr;
  }
  uint64_t lo = m.offset, hi = m.offset + (m.end - m.start);
  std::vector<instrument::BranchSite> sites;
  for (const instrument::BranchSite& site : scan.sites) {
    if (site.start >= lo && site.end() <= hi) sites.push_back(site);
  }
  if (sites.empty()) return nullptr;
  uint64_t room = sites.size() * kMaxStubBytes;
  room = (room + kAreaAlign - 1) & ~(kAreaAlign - 1);
  uint64_t stubs_at = free_area_near(maps, m.start, m.end, room);
  if (!stubs_at) return nullptr;  // no room in reach: runs uncounted

  // Every run of a program maps the same files at the same places: the
  // patch made once serves them all.
  std::string key = identity + "@" + std::to_string(m.start) + "-" + std::to_string(m.end) + "+" +
                    std::to_string(m.offset) + ">" + std::to_string(stubs_at);
  if (auto known = patches_.find(key); known != patches_.end()) return known->second;

  instrument::EmitRequest request;
  request.sites = sites.data();
  request.num_sites = sites.size();
  request.bias = static_cast<int64_t>(m.start) - static_cast<int64_t>(m.offset);
  request.file = file.data();
  request.file_size = file.size();
  request.stub_base = stubs_at;
  request.stub_capacity = room;
  instrument::EmitResult emitted;
  instrument::emit_stubs(request, &emitted);
  if (emitted.entries.empty()) return nullptr;
  // The mapping as it must read: the file's bytes (zeros past its end)
  // with the sites overwritten.
  std::string code(m.end - m.start, '\0');
  if (lo < file.size()) {
    memcpy(code.data(), file.data() + lo, std::min<uint64_t>(code.size(), file.size() - lo));
  }
  for (const instrument::CodeWrite& w : emitted.writes) {
    memcpy(code.data() + (w.addr - m.start), w.bytes.data(), w.bytes.size());
  }
  auto map = std::make_shared<instrument::PatchMap>();
  map->add(emitted.entries);
  instrument::PatchFileLayout layout;
  std::string stubs(emitted.stubs.begin(), emitted.stubs.end());
  std::string contents = instrument::build_patch_file(code, stubs, *map, &layout);
  auto patch = std::make_shared<Patch>();
  patch->code = {m.start, layout.code_len};
  patch->stubs = {stubs_at, layout.stubs_len};
  patch->map = map;
  patch->saved_name = save_blob(contents, error);
  if (patch->saved_name.empty()) return nullptr;
  totals_->objects.insert(m.path);
  for (const instrument::SegmentStats& seg : scan.segments) {
    if (seg.file_offset < hi && lo < seg.file_offset + seg.file_size) {
      totals_->rel8_found += seg.rel8_found;
      totals_->rel32_found += seg.rel32_found;
    }
  }
  for (const instrument::PatchEntry& e : emitted.entries) {
    (e.jcc_length == 2 ? totals_->rel8_patched : totals_->rel32_patched)++;
  }
  patches_[key] = patch;
  return patch;
}

bool CodeInstrumenter::instrument(Task& task, pid_t tgid, uint64_t lo, uint64_t hi,
                                  std::vector<Event>* events, std::string* error) {
  AddressSpace& as = space(tgid);
  std::vector<Mapping> maps = read_mappings(task.tid());
  for (const Mapping& m : maps) {
    if (m.end <= lo || m.start >= hi || !m.exec || m.shared || m.inode == 0 ||
        as.patched.count(m.start) || never_patched(m)) {
      continue;
    }
    as.patched.insert(m.start);
    std::shared_ptr<const Patch> patch = make_patch(task, m, maps, error);
    if (!patch) {
      if (!error->empty()) return false;
      continue;
    }
    std::string path = writer_.dir() + "/files/" + patch->saved_name;
    if (!map_tick_patch(task, path, patch->code.addr, patch->code.len, patch->stubs.addr,
                        patch->stubs.len)) {
      *error = "cannot map the tick patch " + path + " into process " + std::to_string(tgid);
      return false;
    }
    as.patches.add(patch->map);
    Event event;
    event.tid = task.tid();
    event.kind = EventKind::kInstrument;
    task.get_regs(&event.regs);
    event.patch_code = patch->code;
    event.patch_stubs = patch->stubs;
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
