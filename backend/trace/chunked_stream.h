// The `events` file: a sequence of zstd-compressed frames ("chunks"), each
// holding whole Cap'n Proto messages. ChunkWriter batches messages into
// chunks of about kChunkTarget bytes; ChunkReader hands them back one chunk
// at a time, never trusting a size beyond what the file holds.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <string>

#include "trace/file_util.h"
#include "trace/frame.h"

namespace rrx {

class ChunkWriter {
 public:
  static constexpr size_t kChunkTarget = 1 << 20;

  explicit ChunkWriter(UniqueFd fd);
  ~ChunkWriter();
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // Appends `size` bytes to the pending chunk and returns where to put them.
  // Call flush_if_full() once they are written.
  char* extend(size_t size);
  bool flush_if_full(std::string* error);
  // Writes the pending chunk, if any, and fsyncs the file.
  bool finish(std::string* error);

  // Length and running CRC-32 of everything written to the file so far.
  uint64_t size() const { return size_; }
  uint32_t crc() const { return crc_; }

 private:
  bool flush(std::string* error);

  UniqueFd fd_;
  ZSTD_CCtx* cctx_;
  std::string pending_;
  std::string frame_;  // reused encoding buffer
  uint64_t size_ = 0;
  uint32_t crc_ = 0;
};

class ChunkReader {
 public:
  ChunkReader(UniqueFd fd, uint64_t file_size)
      : fd_(std::move(fd)), file_size_(file_size) {}

  // Reads the next chunk into `out`. Returns false at the clean end of the
  // file (*error empty) or on damage (*error says what and at which offset).
  bool next(Words* out, std::string* error);

  // File offset of the chunk last returned by next().
  uint64_t chunk_offset() const { return chunk_offset_; }
  // File offset of the chunk next() reads next.
  uint64_t next_offset() const { return offset_; }
  // Makes next() read the chunk at `offset` (one that next_offset() or
  // chunk_offset() reported).
  void seek(uint64_t offset) { offset_ = offset; }

 private:
  UniqueFd fd_;
  uint64_t file_size_;
  uint64_t offset_ = 0;
  uint64_t chunk_offset_ = 0;
};

}  // namespace rrx
