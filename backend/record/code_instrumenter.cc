#include "record/code_instrumenter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
// Address space reserved for stubs per byte of code. Sites are at least 5
// bytes apart and a stub is at most ~90 bytes; real code needs about 3.
constexpr uint64_t kStubRoomPerCodeByte = 8;
// rel32 reaches +-2 GiB; keep code and stubs well inside that.
constexpr uint64_t kReach = (uint64_t{2} << 30) - (uint64_t{64} << 20);

// The file behind a mapping as the kernel sees it (it survives the path
// being replaced).
std::string map_files_path(pid_t tid, const Mapping& m) {
  char name[96];
  snprintf(name, sizeof name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, tid, m.start, m.end);
  return name;
}

// That file, opened through map_files, else by path.
int open_mapped_file(pid_t tid, const Mapping& m) {
  int fd = open(map_files_path(tid, m).c_str(), O_RDONLY | O_CLOEXEC);
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

// Branch predictors tell branches apart by the low bits of their address
// only: measured on this machine's Xeon, a jump into a stub whose address
// equals the patched code's modulo 16 MiB costs ~18 cycles instead of ~3,
// because the code's and the stubs' branches then evict each other. Stubs
// are therefore placed where, modulo that period, they follow the code's
// end, so that the stubs in use (about 1.5 times the code) overlap no code
// for any mapping of up to ~5 MiB.
constexpr uint64_t kBranchAliasPeriod = uint64_t{16} << 20;

// A free range of `len` bytes within rel32 reach of [lo, hi), starting
// congruent to the code's end modulo kBranchAliasPeriod: first from 1 GiB
// below the code downwards (away from where the kernel puts new mappings
// next), then from half a GiB above it upwards. 0 if there is none.
uint64_t free_area_near(const std::vector<Mapping>& maps, uint64_t lo, uint64_t hi, uint64_t len) {
  auto is_free = [&](uint64_t at) {
    if (at < (uint64_t{1} << 20) || at + len > (uint64_t{1} << 47) || at + len < at) return false;
    for (const Mapping& m : maps) {
      if (at < m.end && m.start < at + len) return false;
    }
    return within_reach(at, at + len, lo, hi);
  };
  const uint64_t period = kBranchAliasPeriod;
  const uint64_t phase = ((hi + kAreaAlign - 1) & ~(kAreaAlign - 1)) & (period - 1);
  const uint64_t gib = uint64_t{1} << 30, tries = gib / period;
  if (lo > gib + len + period) {
    uint64_t below = lo - gib - len;
    below -= (below - phase) & (period - 1);
    for (uint64_t i = 0; i < tries && below > i * period; ++i) {
      if (is_free(below - i * period)) return below - i * period;
    }
  }
  uint64_t above = hi + gib / 2;
  above += (phase - above) & (period - 1);
  for (uint64_t i = 0; i < tries; ++i) {
    if (is_free(above + i * period)) return above + i * period;
  }
  return 0;
}

// Where a patch made by any recording is kept for the next ones: next to
// the site cache, named by a hash of what determines its contents. "" if
// there is no cache directory.
std::string patch_cache_path(const std::string& key) {
  std::string dir = instrument::default_cache_dir();
  if (dir.empty()) return "";
  dir += "/patches";
  static std::string made;  // (made once per run, not per patch)
  for (size_t at = 1; made != dir && at <= dir.size(); ++at) {
    if ((at == dir.size() || dir[at] == '/') && mkdir(dir.substr(0, at).c_str(), 0700) != 0 &&
        errno != EEXIST) {
      return "";
    }
  }
  made = dir;
  char name[32];
  snprintf(name, sizeof name, "/%016zx",
           std::hash<std::string>{}(key + "#" + std::to_string(instrument::kScanRulesVersion) + "." +
                                    std::to_string(instrument::kPatchFormatVersion)));
  return dir + name;
}

// Writes `path` whole, owner-only, through a temporary file.
bool write_private_file(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  if (fd >= 0) close(fd);
  if (ok && rename(tmp.c_str(), path.c_str()) == 0) return true;
  unlink(tmp.c_str());
  return false;
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
  uint64_t syscall_found = 0, syscall_patched = 0, cpuid_found = 0, cpuid_patched = 0;
  // Of *_found: patched in the files decoded now.
  uint64_t rel8_decoded_patched = 0, rel32_decoded_patched = 0, syscall_decoded_patched = 0,
           cpuid_decoded_patched = 0;
};

namespace {
// Which counter of Totals a patched site adds to.
uint64_t& patched_counter(uint64_t& rel8, uint64_t& rel32, uint64_t& sys, uint64_t& cpuid,
                          const instrument::PatchEntry& e) {
  if (e.form == instrument::StubForm::kSyscall) return sys;
  if (e.form == instrument::StubForm::kCpuid) return cpuid;
  return e.jcc_length == 2 ? rel8 : rel32;
}
}  // namespace

CodeInstrumenter::CodeInstrumenter(TraceWriter& writer, const Options& options)
    : writer_(writer),
      jcc_sites_(options.jcc_sites),
      syscall_sites_(options.syscall_sites),
      totals_(std::make_unique<Totals>()) {}
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

void CodeInstrumenter::on_unmap(pid_t tgid, uint64_t lo, uint64_t hi) {
  auto it = spaces_.find(tgid);
  if (it == spaces_.end()) return;
  AddressSpace& as = *it->second;
  as.patched.erase(as.patched.lower_bound(lo), as.patched.lower_bound(hi));
  as.patches.erase(lo, hi);
}

bool CodeInstrumenter::in_glue(pid_t tgid, uint64_t pc) const {
  auto it = spaces_.find(tgid);
  return it != spaces_.end() && it->second->patches.to_original(pc).in_glue;
}

bool CodeInstrumenter::in_stub(pid_t tgid, uint64_t pc) const {
  auto it = spaces_.find(tgid);
  if (it == spaces_.end()) return false;
  instrument::PatchMap::Translation where = it->second->patches.to_original(pc);
  return where.in_glue || where.orig_pc != pc;
}

// Saved under files/ through a temporary file (the trace's file saver
// takes paths).
std::string CodeInstrumenter::save_blob(const std::string& blob, std::string* error) {
  std::string tmp = writer_.dir() + "/patch";
  struct stat st;
  if (!write_private_file(tmp, blob) || stat(tmp.c_str(), &st) != 0) {
    *error = "cannot write " + tmp;
    return "";
  }
  std::string name = writer_.save_file(tmp, st, true, error);
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
  if (!stated || !file.data()) return nullptr;
  std::string identity = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
                         "." + std::to_string(st.st_mtim.tv_nsec);
  // Stubs need at most a few times the code's size (a site every few
  // bytes at most): reserve that much address space, so the placement
  // (and with it the patch) is known before anything is decoded.
  uint64_t room = ((m.end - m.start) * kStubRoomPerCodeByte + kAreaAlign - 1) & ~(kAreaAlign - 1);
  uint64_t stubs_at = free_area_near(maps, m.start, m.end, room);
  if (!stubs_at) return nullptr;  // no room in reach: runs uncounted

  // Every run of a program maps the same files at the same places: the
  // patch made once serves them all.
  std::string key = identity + "@" + std::to_string(m.start) + "-" + std::to_string(m.end) + "+" +
                    std::to_string(m.offset) + ">" + std::to_string(stubs_at) +
                    (jcc_sites_ ? "j" : "") + (syscall_sites_ ? "s" : "");
  if (auto known = patches_.find(key); known != patches_.end()) return known->second;
  auto patch = std::make_shared<Patch>();
  auto map = std::make_shared<instrument::PatchMap>();
  instrument::PatchFileLayout layout;
  std::string cached_file = patch_cache_path(key);
  std::string ignored;
  if (!cached_file.empty() &&
      instrument::read_patch_file_lazily(cached_file, &layout, map.get(), &ignored) &&
      layout.code_len == m.end - m.start) {
    // Made by an earlier recording: link it into this trace.
    struct stat cst;
    patch->saved_name = stat(cached_file.c_str(), &cst) == 0
                            ? writer_.save_file(cached_file, cst, true, error)
                            : "";
  } else {
    std::shared_ptr<const instrument::ScanResult>& cached = scans_[identity];
    if (!cached) {
      auto fresh = std::make_shared<instrument::ScanResult>();
      if (instrument::load_or_scan(map_files_path(task.tid(), m), fresh.get()) ||
          instrument::load_or_scan(m.path, fresh.get())) {
        cached = fresh;
      }
    }
    if (!cached) return nullptr;
    const instrument::ScanResult& scan = *cached;
    // (A statically instrumented object's scan has syscall sites only.)
    if (scan.statically_instrumented) totals_->static_objects.insert(m.path);
    uint64_t lo = m.offset, hi = m.offset + (m.end - m.start);
    // The wanted sites inside the mapping (the scan is sorted by start).
    auto first = std::lower_bound(scan.sites.begin(), scan.sites.end(), lo,
                                  [](const instrument::BranchSite& s, uint64_t at) { return s.start < at; });
    std::vector<instrument::BranchSite> sites;
    for (auto it = first; it != scan.sites.end() && it->end() <= hi; ++it) {
      bool wanted = instrument::calls_engine(it->form) ? syscall_sites_ : jcc_sites_;
      if (wanted) sites.push_back(*it);
    }
    if (sites.empty()) {
      patches_[key] = nullptr;  // nothing to patch there, in every run
      return nullptr;
    }
    if (!emit(m, file.data(), file.size(), sites.data(), sites.size(), stubs_at, room, map.get(),
              &layout, cached_file, &patch->saved_name, error)) {
      return nullptr;
    }
    for (const instrument::SegmentStats& seg : scan.segments) {
      if (seg.file_offset < hi && lo < seg.file_offset + seg.file_size) {
        if (jcc_sites_) {
          totals_->rel8_found += seg.rel8_found;
          totals_->rel32_found += seg.rel32_found;
        }
        if (syscall_sites_) {
          totals_->syscall_found += seg.syscall_found;
          totals_->cpuid_found += seg.cpuid_found;
        }
      }
    }
    for (const instrument::PatchEntry& e : map->entries()) {
      patched_counter(totals_->rel8_decoded_patched, totals_->rel32_decoded_patched,
                      totals_->syscall_decoded_patched, totals_->cpuid_decoded_patched, e)++;
    }
  }
  if (patch->saved_name.empty()) return nullptr;
  patch->code = {m.start, layout.code_len};
  patch->stubs = {stubs_at, layout.stubs_len};
  patch->map = map;
  totals_->objects.insert(m.path);
  patches_[key] = patch;
  return patch;
}

// Emits the patch of mapping `m` and saves its file into the trace, by way
// of the patch cache when there is one (`cached_file`).
bool CodeInstrumenter::emit(const Mapping& m, const uint8_t* file, size_t file_size,
                            const instrument::BranchSite* sites, size_t count, uint64_t stubs_at,
                            uint64_t room, instrument::PatchMap* map,
                            instrument::PatchFileLayout* layout, const std::string& cached_file,
                            std::string* saved_name, std::string* error) {
  uint64_t lo = m.offset;
  instrument::EmitRequest request;
  request.sites = sites;
  request.num_sites = count;
  request.bias = static_cast<int64_t>(m.start) - static_cast<int64_t>(m.offset);
  request.file = file;
  request.file_size = file_size;
  request.stub_base = stubs_at;
  request.stub_capacity = room;
  instrument::EmitResult emitted;
  instrument::emit_stubs(request, &emitted);
  if (emitted.entries.empty()) return false;
  // The mapping as it must read: the file's bytes (zeros past its end)
  // with the sites overwritten.
  std::string code(m.end - m.start, '\0');
  if (lo < file_size) {
    memcpy(code.data(), file + lo, std::min<uint64_t>(code.size(), file_size - lo));
  }
  for (const instrument::CodeWrite& w : emitted.writes) {
    memcpy(code.data() + (w.addr - m.start), w.bytes.data(), w.bytes.size());
  }
  map->add(emitted.entries);
  std::string stubs(emitted.stubs.begin(), emitted.stubs.end());
  std::string contents = instrument::build_patch_file(code, stubs, *map, layout);
  if (!cached_file.empty() && write_private_file(cached_file, contents)) {
    struct stat st;
    *saved_name = stat(cached_file.c_str(), &st) == 0 ? writer_.save_file(cached_file, st, true, error) : "";
  } else {
    *saved_name = save_blob(contents, error);
  }
  return !saved_name->empty();
}

bool CodeInstrumenter::instrument(Task& task, pid_t tgid, uint64_t lo, uint64_t hi,
                                  std::vector<Event>* events, std::string* error) {
  AddressSpace& as = space(tgid);
  std::vector<Mapping> maps = read_mappings(task.tid());
  for (const Mapping& m : maps) {
    // A writable mapping is about to be written by the program (text
    // relocations, a JIT's own code): it is patched when it is made
    // read-only and executable again.
    if (m.end <= lo || m.start >= hi || !m.exec || m.write || m.shared || m.inode == 0 ||
        as.patched.count(m.start)) {
      continue;
    }
    as.patched.insert(m.start);
    // Pages the program wrote (when the mapping was writable) differ from
    // the file the patch is made from: such code runs uncounted.
    if (has_private_copies(task.tid(), m.start, m.end)) continue;
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
    as.patches.add(patch->code.addr, patch->code.addr + patch->code.len, patch->map);
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
  Totals t = *totals_;
  if (t.objects.empty()) return "";
  // (Counted only now: a cached patch's map is read when first needed.)
  for (const auto& [key, patch] : patches_) {
    if (!patch) continue;
    for (const instrument::PatchEntry& e : patch->map->entries()) {
      patched_counter(t.rel8_patched, t.rel32_patched, t.syscall_patched, t.cpuid_patched, e)++;
    }
  }
  std::string line = std::to_string(t.objects.size()) + " objects patched:";
  char part[200];
  // Only objects decoded in this recording know how many sites they have.
  if (jcc_sites_) {
    snprintf(part, sizeof part, " %" PRIu64 " short and %" PRIu64 " near conditional branches count ticks",
             t.rel8_patched, t.rel32_patched);
    line += part;
    if (t.rel8_found + t.rel32_found) {
      snprintf(part, sizeof part, " (of those decoded now: short %" PRIu64 "/%" PRIu64 ", near %" PRIu64
               "/%" PRIu64 ")",
               t.rel8_decoded_patched, t.rel8_found, t.rel32_decoded_patched, t.rel32_found);
      line += part;
    }
  }
  if (syscall_sites_) {
    snprintf(part, sizeof part, "%s %" PRIu64 " syscall sites call the buffering engine",
             jcc_sites_ ? ";" : "", t.syscall_patched);
    line += part;
    if (t.syscall_found) {
      snprintf(part, sizeof part, " (of those decoded now: %" PRIu64 "/%" PRIu64 ")",
               t.syscall_decoded_patched, t.syscall_found);
      line += part;
    }
    snprintf(part, sizeof part, ", %" PRIu64 " cpuid sites ask it first", t.cpuid_patched);
    line += part;
    if (t.cpuid_found) {
      snprintf(part, sizeof part, " (of those decoded now: %" PRIu64 "/%" PRIu64 ")",
               t.cpuid_decoded_patched, t.cpuid_found);
      line += part;
    }
  }
  if (jcc_sites_ && !t.static_objects.empty()) {
    snprintf(part, sizeof part, "; %zu statically instrumented objects count themselves",
             t.static_objects.size());
    line += part;
  }
  return line;
}

}  // namespace rrx
