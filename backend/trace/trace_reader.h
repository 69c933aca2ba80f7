// Reads and validates a trace directory written by TraceWriter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "trace/event.h"
#include "trace/meta_files.h"

namespace rrx {

class TraceReader {
 public:
  // Opens `dir`: checks the version file (refusing newer versions), the
  // completeness marker and the header. A trace without the marker (the
  // recorder was killed) opens as cut short: its events end before the
  // first chunk that is damaged or cut off. On failure returns nullptr and
  // sets *error to one line that names the trace and what is wrong.
  static std::unique_ptr<TraceReader> open(const std::string& dir,
                                           std::string* error);
  virtual ~TraceReader() = default;

  virtual const std::string& dir() const = 0;
  virtual const TraceHeader& header() const = 0;
  // Empty (zero) for a trace cut short.
  virtual const TraceSummary& summary() const = 0;
  // The recording did not finish: the events end where it was cut.
  virtual bool cut_short() const = 0;

  // Reads the next event. Returns false at the end of the stream (with
  // *error empty) or on a corrupt or truncated stream (*error set).
  virtual bool next(Event* event, std::string* error) = 0;

  // Where next() is in the event stream, to come back to with seek().
  struct Position {
    uint64_t chunk_offset = 0;
    uint64_t word_in_chunk = 0;
    uint64_t events_read = 0;
    uint64_t last_seq = 0;
  };
  virtual Position tell() const = 0;
  virtual bool seek(const Position& position, std::string* error) = 0;

  // The files.manifest entries (for a trace cut short, those before any
  // damage), by name.
  virtual std::vector<SavedFileInfo> saved_files() const = 0;

  // Absolute path of a file saved by TraceWriter::save_file, after checking
  // it is still the one recorded (size and checksum). "" + *error if not.
  virtual std::string saved_file_path(const std::string& name,
                                      std::string* error) = 0;
};

}  // namespace rrx
