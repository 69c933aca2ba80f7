#include "trace/trace_packer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "trace/file_util.h"
#include "trace/layout.h"

namespace rrx {

namespace {

// Built beside the file it replaces, so rename() swaps it in.
constexpr char kTemporary[] = ".pack-tmp";

struct Saved {
  std::string path;
  struct stat st;
  uint64_t size;
};

bool same_contents(const std::string& a, const std::string& b, std::string* error) {
  UniqueFd fa(open(a.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  UniqueFd fb(open(b.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fa.valid() || !fb.valid()) {
    *error = errno_message("cannot read " + (fa.valid() ? b : a));
    return false;
  }
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (;;) {
    ssize_t na = read_full(fa.get(), ba.data(), ba.size());
    ssize_t nb = read_full(fb.get(), bb.data(), bb.size());
    if (na < 0 || nb < 0) {
      *error = errno_message("cannot read " + (na < 0 ? a : b));
      return false;
    }
    if (na != nb || memcmp(ba.data(), bb.data(), na) != 0) return false;
    if (na == 0) return true;
  }
}

// Puts a new name for `source`'s contents in place of `target`: a copy
// (fsynced) when `copy`, else a hardlink to `source`.
bool replace_with(const std::string& source, const std::string& target, bool copy,
                  std::string* error) {
  std::string tmp = target.substr(0, target.rfind('/') + 1) + kTemporary;
  unlink(tmp.c_str());
  if (copy) {
    if (!copy_file(source, tmp, error) || !fsync_path(tmp, error)) {
      unlink(tmp.c_str());
      return false;
    }
  } else if (link(source.c_str(), tmp.c_str()) != 0) {
    *error = errno_message("cannot link " + source);
    return false;
  }
  if (rename(tmp.c_str(), target.c_str()) != 0) {
    *error = errno_message("cannot replace " + target);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

bool pack_trace(const std::string& dir, const std::vector<SavedFileInfo>& manifest,
                PackResult* result, std::string* error) {
  error->clear();
  std::string files_dir = dir + "/" + layout::kFiles;
  // Each saved file must still be what was recorded: a copy of a changed
  // file would not replay either.
  using Content = std::tuple<uint64_t, uint32_t, bool>;  // size, CRC, executable
  std::map<Content, std::vector<Saved>> by_content;
  std::map<std::pair<dev_t, ino_t>, nlink_t> names_inside;
  for (const SavedFileInfo& info : manifest) {
    Saved s;
    s.path = files_dir + "/" + info.name;
    uint32_t crc;
    if (lstat(s.path.c_str(), &s.st) != 0 || !S_ISREG(s.st.st_mode) ||
        !file_digest(s.path, &s.size, &crc, error) || s.size != info.size || crc != info.crc32) {
      *error = "files/" + info.name + " no longer holds the " + info.original_path +
               " that was recorded (changed in place?): the trace cannot be packed";
      return false;
    }
    ++names_inside[{s.st.st_dev, s.st.st_ino}];
    by_content[{s.size, crc, (s.st.st_mode & 0111) != 0}].push_back(s);
  }

  PackResult done;
  for (auto& [content, group] : by_content) {
    // Same size and CRC: compare the bytes before sharing one copy.
    std::vector<const Saved*> kept;
    for (const Saved& s : group) {
      const Saved* same = nullptr;
      for (const Saved* k : kept) {
        if (same_contents(k->path, s.path, error)) {
          same = k;
          break;
        }
        if (!error->empty()) return false;
      }
      if (!same) {
        // The first of its contents: a copy of its own unless no name
        // outside the trace shares its inode.
        if (s.st.st_nlink > names_inside[{s.st.st_dev, s.st.st_ino}]) {
          if (!replace_with(s.path, s.path, true, error)) return false;
          ++done.copied_files;
          done.copied_bytes += s.size;
        }
        kept.push_back(&s);
        continue;
      }
      struct stat kept_st;
      if (lstat(same->path.c_str(), &kept_st) != 0) {
        *error = errno_message("cannot stat " + same->path);
        return false;
      }
      if (kept_st.st_ino == s.st.st_ino && kept_st.st_dev == s.st.st_dev) continue;
      if (!replace_with(same->path, s.path, false, error)) return false;
      ++done.merged_files;
      done.merged_bytes += s.size;
    }
  }
  if (!fsync_path(files_dir, error)) return false;
  *result = done;
  return true;
}

}  // namespace rrx
