#include "instrument/patch_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace rrx::instrument {
namespace {

constexpr uint64_t kPage = 4096;
constexpr char kMagic[8] = {'R', 'R', 'X', 'P', 'A', 'T', 'C', 'H'};

struct Trailer {
  uint64_t code_len, stubs_len, map_len;
  char magic[8];
};

uint64_t page_up(uint64_t n) { return (n + kPage - 1) & ~(kPage - 1); }

}  // namespace

std::string build_patch_file(const std::string& code, const std::string& stubs,
                             const PatchMap& map, PatchFileLayout* layout) {
  layout->code_len = page_up(code.size());
  layout->stubs_len = page_up(stubs.size());
  std::string out = code;
  out.resize(layout->code_len, '\0');
  out += stubs;
  out.resize(layout->code_len + layout->stubs_len, '\xcc');
  std::string m = map.serialize();
  out += m;
  Trailer t = {layout->code_len, layout->stubs_len, m.size(), {}};
  memcpy(t.magic, kMagic, sizeof kMagic);
  out.append(reinterpret_cast<const char*>(&t), sizeof t);
  return out;
}

namespace {

// Opens `path` and checks its trailer (*t); false if it is no patch file.
bool read_trailer(const std::string& path, int* fd_out, Trailer* t) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) >= sizeof *t &&
            pread(fd, t, sizeof *t, st.st_size - static_cast<off_t>(sizeof *t)) == sizeof *t &&
            memcmp(t->magic, kMagic, sizeof kMagic) == 0 && t->code_len % kPage == 0 &&
            t->stubs_len % kPage == 0 && t->map_len < static_cast<uint64_t>(st.st_size) &&
            t->code_len + t->stubs_len + t->map_len + sizeof *t == static_cast<uint64_t>(st.st_size);
  if (!ok) {
    close(fd);
    return false;
  }
  *fd_out = fd;
  return true;
}

}  // namespace

bool read_patch_file_lazily(const std::string& path, PatchFileLayout* layout, PatchMap* map,
                            std::string* error) {
  int fd;
  Trailer t;
  if (!read_trailer(path, &fd, &t)) {
    *error = path + " is not a whole tick patch";
    return false;
  }
  close(fd);
  map->load_lazily(path, t.code_len + t.stubs_len, t.map_len);
  layout->code_len = t.code_len;
  layout->stubs_len = t.stubs_len;
  return true;
}

bool read_patch_file(const std::string& path, PatchFileLayout* layout, PatchMap* map,
                     std::string* error) {
  int fd;
  Trailer t;
  if (!read_trailer(path, &fd, &t)) {
    *error = path + " is not a whole tick patch";
    return false;
  }
  std::string bytes(t.map_len, '\0');
  bool ok = pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(t.code_len + t.stubs_len)) ==
                static_cast<ssize_t>(bytes.size()) &&
            map->deserialize(bytes);
  close(fd);
  if (!ok) {
    *error = path + " is not a whole tick patch";
    return false;
  }
  layout->code_len = t.code_len;
  layout->stubs_len = t.stubs_len;
  return true;
}

}  // namespace rrx::instrument
