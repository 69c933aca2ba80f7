#include "trace/trace_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <map>

#include "trace.capnp.h"
#include "trace/chunked_stream.h"
#include "trace/crc32.h"
#include "trace/event_codec.h"
#include "trace/file_util.h"
#include "trace/layout.h"
#include "trace/message_io.h"
#include "trace/meta_files.h"

namespace rrx {
namespace {

// The single-frame files are small; this only bounds what a damaged or
// hostile trace can make us allocate.
constexpr uint64_t kMaxMetaFileSize = uint64_t{256} << 20;

bool has_entries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return true;  // unreadable: let the version check report it
  bool found = false;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

// Parses "rrx-trace <n>\n"; 0 if the text is anything else.
uint32_t parse_version(const std::string& text) {
  std::string prefix = layout::kVersionPrefix;
  if (text.size() < prefix.size() + 2 || text.compare(0, prefix.size(), prefix) != 0 ||
      text.back() != '\n')
    return 0;
  std::string digits = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  if (digits.size() > 9 || digits[0] == '0') return 0;
  for (char c : digits)
    if (c < '0' || c > '9') return 0;
  return static_cast<uint32_t>(std::stoul(digits));
}

bool file_exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

class TraceReaderImpl : public TraceReader {
 public:
  // Runs the checks of TraceReader::open in order. On failure, *problem is
  // what follows the trace's name in the error line.
  bool load(const std::string& dir, std::string* problem);

  const std::string& dir() const override { return dir_; }
  const TraceHeader& header() const override { return header_; }
  const TraceSummary& summary() const override { return summary_; }
  bool cut_short() const override { return cut_short_; }
  bool next(Event* event, std::string* error) override;
  Position tell() const override;
  bool seek(const Position& position, std::string* error) override;
  std::vector<SavedFileInfo> saved_files() const override {
    std::vector<SavedFileInfo> files;
    for (const auto& [name, info] : manifest_) files.push_back(info);
    return files;
  }
  std::string saved_file_path(const std::string& name,
                              std::string* error) override;

 private:
  std::string path(const char* name) const { return dir_ + "/" + name; }
  bool read_checked(const char* name, const FileDigest& digest,
                    std::string* out, std::string* problem);
  bool next_event(Event* event, std::string* error);
  bool load_header(const std::string& text, uint32_t version, std::string* problem);
  bool load_partial(uint32_t version, std::string* problem);
  bool open_events(uint64_t size, std::string* problem);

  std::string dir_;  // absolute
  TraceHeader header_;
  TraceSummary summary_;
  std::map<std::string, SavedFileInfo> manifest_;
  std::map<std::string, std::string> verdicts_;  // name -> "" or the error

  std::unique_ptr<ChunkReader> chunks_;
  Words chunk_;
  size_t chunk_pos_ = 0;
  uint64_t events_read_ = 0;
  uint64_t last_seq_ = 0;
  bool at_end_ = false;
  bool cut_short_ = false;  // no completeness marker
  std::string stream_error_;  // sticky: once damaged, always damaged
};

bool TraceReaderImpl::load(const std::string& dir, std::string* problem) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    *problem = errno == ENOENT ? "does not exist" : errno_message("cannot be read");
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *problem = "is not a directory";
    return false;
  }
  char real[PATH_MAX];
  if (!realpath(dir.c_str(), real)) {
    *problem = errno_message("cannot be resolved");
    return false;
  }
  dir_ = real;
  if (!has_entries(dir_)) {
    *problem = "is not an rrx trace (empty directory)";
    return false;
  }

  std::string text, error;
  if (!file_exists(path(layout::kVersion))) {
    *problem = "is not an rrx trace (no version file)";
    return false;
  }
  if (!read_small_file(path(layout::kVersion), 64, &text, &error)) {
    *problem = "has an unreadable version file: " + error;
    return false;
  }
  uint32_t version = parse_version(text);
  if (version == 0) {
    *problem = "is not an rrx trace (version file does not read \"" +
               std::string(layout::kVersionPrefix) + "<n>\")";
    return false;
  }
  if (version > kTraceVersion) {
    *problem = "was written by a newer rrx (trace version " +
               std::to_string(version) + "; this rrx reads up to " +
               std::to_string(kTraceVersion) + ")";
    return false;
  }

  if (!file_exists(path(layout::kComplete))) return load_partial(version, problem);
  CompleteMarker marker;
  if (!read_small_file(path(layout::kComplete), kMaxMetaFileSize, &text,
                       &error) ||
      !decode_marker(text, &marker, &error)) {
    *problem = "is corrupt: complete: " + error;
    return false;
  }
  summary_ = marker.summary;

  if (!read_checked(layout::kHeader, marker.header, &text, problem) ||
      !load_header(text, version, problem))
    return false;

  std::vector<SavedFileInfo> files;
  if (!read_checked(layout::kFilesManifest, marker.files_manifest, &text,
                    problem))
    return false;
  if (!decode_manifest(text, &files, &error)) {
    *problem = "is corrupt: files.manifest: " + error;
    return false;
  }
  for (auto& f : files) manifest_[f.name] = std::move(f);

  // The events file is checked whole here, streamed, so damage is reported
  // before replay starts; next() still checks every chunk on its own.
  FileDigest events;
  if (!file_exists(path(layout::kEvents))) {
    *problem = "is corrupt: events is missing";
    return false;
  }
  if (!file_digest(path(layout::kEvents), &events.size, &events.crc32,
                   &error)) {
    *problem = "is corrupt: " + error;
    return false;
  }
  if (events.size != marker.events.size || events.crc32 != marker.events.crc32) {
    *problem = "is corrupt: events: " +
               (events.size != marker.events.size
                    ? "size " + std::to_string(events.size) +
                          " differs from the recorded " +
                          std::to_string(marker.events.size)
                    : std::string("CRC mismatch"));
    return false;
  }
  return open_events(events.size, problem);
}

bool TraceReaderImpl::load_header(const std::string& text, uint32_t version,
                                  std::string* problem) {
  std::string error;
  if (!decode_header_file(text, &header_, &error)) {
    *problem = "is corrupt: header: " + error;
    return false;
  }
  if (header_.version != version) {
    *problem = "is corrupt: header says version " +
               std::to_string(header_.version) + ", version file says " +
               std::to_string(version);
    return false;
  }
  return true;
}

// A recording that did not finish: nothing vouches for the files' lengths,
// so each frame is checked on its own and reading stops at the first that
// is damaged or cut off (the recorder was killed while writing it).
bool TraceReaderImpl::load_partial(uint32_t version, std::string* problem) {
  cut_short_ = true;
  std::string text, error;
  if (!file_exists(path(layout::kHeader))) {
    *problem = "is incomplete: the recording ended before it started";
    return false;
  }
  if (!read_small_file(path(layout::kHeader), kMaxMetaFileSize, &text, &error)) {
    *problem = "is corrupt: " + error;
    return false;
  }
  if (!load_header(text, version, problem)) return false;
  std::vector<SavedFileInfo> files;
  if (file_exists(path(layout::kFilesManifest)) &&
      read_small_file(path(layout::kFilesManifest), kMaxMetaFileSize, &text, &error))
    decode_manifest(text, &files, &error);  // keeps the entries before damage
  for (auto& f : files) manifest_[f.name] = std::move(f);
  struct stat st;
  if (stat(path(layout::kEvents).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *problem = "is corrupt: events is missing";
    return false;
  }
  return open_events(st.st_size, problem);
}

bool TraceReaderImpl::open_events(uint64_t size, std::string* problem) {
  UniqueFd fd(::open(path(layout::kEvents).c_str(),
                     O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    *problem = errno_message("cannot open events");
    return false;
  }
  chunks_ = std::make_unique<ChunkReader>(std::move(fd), size);
  return true;
}

// Reads a single-frame file whose length and CRC the marker recorded.
bool TraceReaderImpl::read_checked(const char* name, const FileDigest& digest,
                                   std::string* out, std::string* problem) {
  std::string error;
  if (!file_exists(path(name))) {
    *problem = "is corrupt: " + std::string(name) + " is missing";
    return false;
  }
  if (!read_small_file(path(name), kMaxMetaFileSize, out, &error)) {
    *problem = "is corrupt: " + error;
    return false;
  }
  if (out->size() != digest.size) {
    *problem = "is corrupt: " + std::string(name) + ": size " +
               std::to_string(out->size()) + " differs from the recorded " +
               std::to_string(digest.size);
    return false;
  }
  if (crc32(out->data(), out->size()) != digest.crc32) {
    *problem = "is corrupt: " + std::string(name) + ": CRC mismatch";
    return false;
  }
  return true;
}

bool TraceReaderImpl::next(Event* event, std::string* error) {
  error->clear();
  if (!stream_error_.empty()) {
    *error = stream_error_;
    return false;
  }
  if (at_end_) return false;
  std::string problem;
  if (next_event(event, &problem)) return true;
  if (problem.empty()) {
    at_end_ = true;
    return false;
  }
  stream_error_ = dir_ + " is corrupt: events: " + problem;
  *error = stream_error_;
  return false;
}

TraceReader::Position TraceReaderImpl::tell() const {
  Position p;
  if (chunk_pos_ == chunk_.size()) {
    p.chunk_offset = chunks_->next_offset();
  } else {
    p.chunk_offset = chunks_->chunk_offset();
    p.word_in_chunk = chunk_pos_;
  }
  p.events_read = events_read_;
  p.last_seq = last_seq_;
  return p;
}

bool TraceReaderImpl::seek(const Position& position, std::string* error) {
  error->clear();
  chunks_->seek(position.chunk_offset);
  chunk_.clear();
  chunk_pos_ = 0;
  if (position.word_in_chunk > 0) {
    if (!chunks_->next(&chunk_, error) || position.word_in_chunk > chunk_.size()) {
      if (error->empty()) *error = "cannot return to an earlier point of the event stream";
      *error = dir_ + " is corrupt: events: " + *error;
      return false;
    }
    chunk_pos_ = position.word_in_chunk;
  }
  events_read_ = position.events_read;
  last_seq_ = position.last_seq;
  at_end_ = false;
  return true;
}

bool TraceReaderImpl::next_event(Event* event, std::string* error) {
  while (chunk_pos_ == chunk_.size()) {
    chunk_pos_ = 0;
    if (!chunks_->next(&chunk_, error)) {
      chunk_.clear();
      // Where a partial trace was cut, or damaged: its end.
      if (cut_short_) error->clear();
      if (error->empty() && !cut_short_ && events_read_ != summary_.event_count)
        *error = "holds " + std::to_string(events_read_) +
                 " events, the summary says " +
                 std::to_string(summary_.event_count);
      return false;
    }
  }
  std::string in_chunk =
      " in the chunk at offset " + std::to_string(chunks_->chunk_offset());
  auto message = open_message(chunk_, &chunk_pos_, error);
  bool ok = message && decode_guarded(
                           [&] {
                             return decode_event(
                                 message->getRoot<proto::Event>(), event, error);
                           },
                           error);
  if (ok && event->seq <= last_seq_) {
    *error = "event seq " + std::to_string(event->seq) + " does not follow " +
             std::to_string(last_seq_);
    ok = false;
  }
  if (!ok) {
    *error += in_chunk;
    return false;
  }
  last_seq_ = event->seq;
  ++events_read_;
  return true;
}

std::string TraceReaderImpl::saved_file_path(const std::string& name,
                                             std::string* error) {
  std::string file = dir_ + "/" + layout::kFiles + "/" + name;
  auto cached = verdicts_.find(name);
  if (cached == verdicts_.end()) {
    std::string verdict;
    auto entry = manifest_.find(name);
    uint64_t size = 0;
    uint32_t crc = 0;
    if (entry == manifest_.end()) {
      verdict = dir_ + ": no saved file named '" + name + "'";
    } else if (!file_digest(file, &size, &crc, &verdict)) {
      verdict = dir_ + ": saved file " + name + " is unreadable: " + verdict;
    } else if (size != entry->second.size || crc != entry->second.crc32) {
      verdict = dir_ + ": saved file " + name + " (a copy of " +
                entry->second.original_path +
                ") has changed since it was recorded";
    }
    cached = verdicts_.emplace(name, verdict).first;
  }
  *error = cached->second;
  return cached->second.empty() ? file : "";
}

}  // namespace

std::unique_ptr<TraceReader> TraceReader::open(const std::string& dir,
                                               std::string* error) {
  auto reader = std::make_unique<TraceReaderImpl>();
  std::string problem;
  if (!reader->load(dir, &problem)) {
    *error = dir + " " + problem;
    return nullptr;
  }
  error->clear();
  return reader;
}

}  // namespace rrx
