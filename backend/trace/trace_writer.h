// Writes a trace directory: version file, header, compressed event stream,
// saved files with their manifest, and last of all the completeness marker.
// Until then the directory is a partial trace that TraceReader reads up to
// its last complete chunk of events.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>

#include "trace/event.h"

namespace rrx {

class TraceWriter {
 public:
  // Creates `dir` (mode 0700; must not exist or be empty) and writes the
  // version file. On failure returns nullptr and sets *error to one line.
  static std::unique_ptr<TraceWriter> create(const std::string& dir,
                                             std::string* error);
  // Without finish(): writes the chunks already handed off, drops the
  // events appended since, and leaves a trace without the completeness
  // marker: one cut short.
  virtual ~TraceWriter() = default;

  virtual const std::string& dir() const = 0;
  virtual bool write_header(const TraceHeader& header, std::string* error) = 0;
  // Serializes `event` into the current chunk; full chunks are compressed
  // and written by a background thread. Fails (one line) if the event is
  // refused or if writing an earlier chunk failed; that failure is kept, so
  // every later append() and finish() report it too. Waits while several
  // full chunks are still to be written.
  virtual bool append(const Event& event, std::string* error) = 0;

  // Hands the events appended so far to the writer now (at the end of a
  // process: what ends a process should survive the recorder), or only if
  // the oldest of them waits for ChunkWriter::kMaxChunkAge (call it when
  // idle). Fail like append().
  virtual bool flush_events(std::string* error) = 0;
  virtual bool flush_stale_events(std::string* error) = 0;

  // Saves the file at `path` (whose stat is `st`) under files/ and returns
  // its name there. Files already saved with the same device, inode, size
  // and mtime are reused. Hardlinks when `may_link` and the file system
  // allows, copies otherwise; a new file's manifest entry is appended to
  // files.manifest at once. Returns "" and sets *error on failure.
  virtual std::string save_file(const std::string& path, const struct stat& st,
                                bool may_link, std::string* error) = 0;

  // For a recording that failed before its header: removes what create()
  // made (the directory too, unless it existed), leaving no trace that
  // was never a recording. Does nothing once the header is written.
  virtual void discard_if_unstarted() = 0;

  // Writes the last chunk, waits for every chunk to be written and the
  // writer thread to end, syncs, and only then writes the completeness
  // marker. A trace without it is a partial one.
  virtual bool finish(const TraceSummary& summary, std::string* error) = 0;
};

}  // namespace rrx
