#include "trace/trace_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "trace.capnp.h"
#include "trace/chunked_stream.h"
#include "trace/crc32.h"
#include "trace/event_codec.h"
#include "trace/file_saver.h"
#include "trace/file_util.h"
#include "trace/layout.h"
#include "trace/meta_files.h"
#include "trace/message_io.h"

namespace rrx {
namespace {

bool is_empty_dir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  closedir(d);
  return empty;
}

// mkdir with exactly `mode`, whatever the umask; an existing empty directory
// is accepted when `allow_empty` (*existed then says so).
bool make_dir(const std::string& path, bool allow_empty, std::string* error,
              bool* existed = nullptr) {
  if (existed) *existed = false;
  if (mkdir(path.c_str(), 0700) != 0) {
    if (existed) *existed = true;
    if (errno != EEXIST || !allow_empty) {
      *error = errno_message("cannot create " + path);
      return false;
    }
    if (!is_empty_dir(path)) {
      *error = "cannot create trace " + path + ": it exists and is not an empty directory";
      return false;
    }
  }
  if (chmod(path.c_str(), 0700) != 0) {
    *error = errno_message(path);
    return false;
  }
  return true;
}

// A new file of mode 0600 whatever the umask, for appending.
UniqueFd create_owner_only(const std::string& path, std::string* error) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid() || fchmod(fd.get(), 0600) != 0) {
    *error = errno_message(path);
    return UniqueFd();
  }
  return fd;
}

FileDigest digest_of(const std::string& bytes) {
  return {bytes.size(), crc32(bytes.data(), bytes.size())};
}

class TraceWriterImpl : public TraceWriter {
 public:
  TraceWriterImpl(std::string dir, bool dir_existed, UniqueFd events, UniqueFd manifest,
                  UniqueFd files_dir)
      : dir_(std::move(dir)),
        dir_existed_(dir_existed),
        events_(std::move(events)),
        manifest_(std::move(manifest)),
        files_dir_(std::move(files_dir)),
        saver_(dir_ + "/" + layout::kFiles) {
    // Events name saved files: those and their manifest entries reach the
    // disk first.
    events_.sync_first(files_dir_.get());
    events_.sync_first(manifest_.get());
  }

  const std::string& dir() const override { return dir_; }

  bool write_header(const TraceHeader& header, std::string* error) override {
    if (header_written_ || finished_) {
      *error = dir_ + ": header written twice";
      return false;
    }
    std::string bytes = encode_header_file(header);
    if (!write_new_file(path(layout::kHeader), bytes, error)) return false;
    header_digest_ = digest_of(bytes);
    header_written_ = true;
    return true;
  }

  bool append(const Event& event, std::string* error) override {
    if (!header_written_ || finished_) {
      *error = dir_ + ": event appended " +
               (finished_ ? "after finish" : "before the header");
      return false;
    }
    if (event.seq <= last_seq_) {
      *error = dir_ + ": event seq " + std::to_string(event.seq) +
               " does not follow " + std::to_string(last_seq_);
      return false;
    }
    // A chunk the background thread failed to write fails every later
    // append (and finish).
    if (!events_.check(error)) return fail_with_dir(error);
    capnp::MallocMessageBuilder message;
    encode_event(event, message.initRoot<proto::Event>());
    size_t size = capnp::computeSerializedSizeInWords(message) * 8;
    // The chunk holding it (at most kChunkTarget bytes besides) must fit a
    // frame.
    if (size > kMaxFramePayload - ChunkWriter::kChunkTarget) {
      *error = dir_ + ": event " + std::to_string(event.seq) + " is too large";
      return false;
    }
    write_message_to(message, events_.extend(size), size);
    // A buffer flush and the event it precedes stay in one chunk, so a
    // trace cut short never ends between them.
    if (!events_.flush_if_full(error) ||
        (event.kind != EventKind::kBufferFlush && !events_.flush_if_stale(error)))
      return fail_with_dir(error);
    last_seq_ = event.seq;
    ++event_count_;
    return true;
  }

  std::string save_file(const std::string& path, const struct stat& st,
                        bool may_link, std::string* error) override {
    if (finished_) {
      *error = dir_ + ": file saved after finish";
      return "";
    }
    size_t known = saver_.saved().size();
    std::string name = saver_.save(path, st, may_link, error);
    if (name.empty() || saver_.saved().size() == known) return name;
    // One frame per new file, right away: a recording cut short still has
    // the entries of every file its events name.
    std::string frame = encode_manifest({saver_.saved().back()});
    if (!write_all(manifest_.get(), frame.data(), frame.size())) {
      *error = errno_message(this->path(layout::kFilesManifest));
      return "";
    }
    manifest_digest_.size += frame.size();
    manifest_digest_.crc32 = crc32(frame.data(), frame.size(), manifest_digest_.crc32);
    return name;
  }

  bool flush_events(std::string* error) override {
    return events_.flush(error) || fail_with_dir(error);
  }

  bool flush_stale_events(std::string* error) override {
    return events_.flush_if_stale(error) || fail_with_dir(error);
  }

  void discard_if_unstarted() override {
    if (header_written_) return;  // no event either, then
    for (const char* name : {layout::kEvents, layout::kFilesManifest, layout::kVersion})
      unlink(path(name).c_str());
    rmdir(path(layout::kFiles).c_str());  // nothing is saved before the header
    if (!dir_existed_) rmdir(dir_.c_str());
    finished_ = true;
  }

  bool finish(const TraceSummary& summary, std::string* error) override {
    if (!header_written_ || finished_) {
      *error = dir_ + ": finish " +
               (finished_ ? "called twice" : "called before the header");
      return false;
    }
    if (summary.event_count != event_count_) {
      *error = dir_ + ": summary says " + std::to_string(summary.event_count) +
               " events but " + std::to_string(event_count_) +
               " were appended";
      return false;
    }
    // Syncs files/ and files.manifest too.
    if (!events_.finish(error)) return fail_with_dir(error);

    CompleteMarker marker;
    marker.summary = summary;
    marker.events = {events_.size(), events_.crc()};
    marker.header = header_digest_;
    marker.files_manifest = manifest_digest_;
    // Last, and atomically: its presence is what makes the trace usable.
    if (!write_file_atomic(dir_, layout::kComplete, encode_marker(marker),
                           error))
      return false;
    finished_ = true;
    return true;
  }

 private:
  std::string path(const char* name) const { return dir_ + "/" + name; }

  bool fail_with_dir(std::string* error) const {
    *error = dir_ + ": " + *error;
    return false;
  }

  std::string dir_;
  bool dir_existed_;  // given empty, not created here
  ChunkWriter events_;
  UniqueFd manifest_;   // appended to as files are saved
  UniqueFd files_dir_;  // for fsync
  FileSaver saver_;
  FileDigest header_digest_;
  FileDigest manifest_digest_;
  bool header_written_ = false;
  bool finished_ = false;
  uint64_t last_seq_ = 0;
  uint64_t event_count_ = 0;
};

}  // namespace

std::unique_ptr<TraceWriter> TraceWriter::create(const std::string& dir,
                                                 std::string* error) {
  std::string version =
      layout::kVersionPrefix + std::to_string(kTraceVersion) + "\n";
  std::string files_path = dir + "/" + layout::kFiles;
  bool existed = false;
  if (!make_dir(dir, true, error, &existed) || !make_dir(files_path, false, error) ||
      !write_new_file(dir + "/" + layout::kVersion, version, error))
    return nullptr;
  UniqueFd events = create_owner_only(dir + "/" + layout::kEvents, error);
  UniqueFd manifest = create_owner_only(dir + "/" + layout::kFilesManifest, error);
  UniqueFd files_dir(open(files_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!events.valid() || !manifest.valid()) return nullptr;
  if (!files_dir.valid()) {
    *error = errno_message(files_path);
    return nullptr;
  }
  return std::make_unique<TraceWriterImpl>(dir, existed, std::move(events), std::move(manifest),
                                           std::move(files_dir));
}

}  // namespace rrx
