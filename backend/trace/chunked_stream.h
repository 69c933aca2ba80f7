// The `events` file: a sequence of zstd-compressed frames ("chunks"), each
// holding whole Cap'n Proto messages. ChunkWriter batches messages into
// chunks of about kChunkTarget bytes; ChunkReader hands them back one chunk
// at a time, never trusting a size beyond what the file holds.
#pragma once

#include <zstd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trace/file_util.h"
#include "trace/frame.h"

namespace rrx {

// The recorder's thread only copies serialized messages into the pending
// chunk; chunks go through a bounded queue to a background thread that
// compresses and writes them, so zstd and write(2) are off the recording's
// critical path. The thread starts with the first chunk handed off (not
// before: the recorder forks the tracee first, and a fork is only simple
// while the process has one thread) and with every signal blocked, so
// signals meant for the recorder are not delivered to it. If it cannot be
// started, chunks are compressed and written in the caller's thread
// instead. The thread may run on every CPU, whatever CPU its creator is
// pinned to (the recorder pins itself and the tracees to one).
//
// Durability: a chunk is handed off once it is full (flush_if_full), once
// its first message is kMaxChunkAge old (flush_if_stale, which the caller
// calls after each message and when idle), or on request (flush), so a
// recorder killed at any point leaves every event older than that in the
// file. The thread syncs what it wrote (first the files given
// to sync_first, then the events) at most once per kMaxChunkAge and within
// kMaxChunkAge of a write, so a power loss keeps all but the last seconds.
//
// The first error of the background thread is kept and returned by every
// later flush_if_full() and finish() (and check()), so it is never lost.
class ChunkWriter {
 public:
  static constexpr size_t kChunkTarget = 1 << 20;
  // extend() waits while this many full chunks wait to be written (besides
  // the one being written), or while they hold kMaxQueuedBytes.
  static constexpr size_t kMaxQueuedChunks = 4;
  static constexpr size_t kMaxQueuedBytes = 8 * kChunkTarget;
  static constexpr std::chrono::milliseconds kMaxChunkAge{500};

  explicit ChunkWriter(UniqueFd fd);
  // Without finish(): the chunks handed off are written (a trace cut short
  // keeps them), the pending one is dropped, the thread is joined.
  ~ChunkWriter();
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // Appends `size` bytes to the pending chunk and returns where to put them.
  // Call flush_if_full() once they are written.
  char* extend(size_t size);
  // Hands the pending chunk to the writer thread once it is full (waiting
  // while the queue is full). False + *error if a chunk could not be
  // written, now or earlier.
  bool flush_if_full(std::string* error);
  // Hands off the pending chunk if its first message is kMaxChunkAge old.
  bool flush_if_stale(std::string* error);
  // Hands off the pending chunk now, whatever its size.
  bool flush(std::string* error);
  // A descriptor the writer syncs before each sync of the events, so that
  // what the events refer to is on disk first (not owned).
  void sync_first(int fd) { sync_first_.push_back(fd); }
  // False + *error if writing has failed so far.
  bool check(std::string* error);
  // Writes the pending chunk, if any, waits until every chunk is written,
  // stops the thread and fsyncs the file.
  bool finish(std::string* error);

  // Length and running CRC-32 of the file; valid after finish() succeeded.
  uint64_t size() const { return size_; }
  uint32_t crc() const { return crc_; }

 private:
  // Queues `pending_` (or writes it here without a thread) and gives
  // pending_ a recycled buffer.
  bool hand_off(std::string* error);
  // Compresses and writes one chunk; only the writer (thread) calls it.
  bool write_chunk(const std::string& raw, std::string* error);
  void run();
  // Syncs sync_first_ and the events file (writer thread only).
  void sync_files();
  void fail(const std::string& error);
  void start_thread();
  // Joins the thread after it wrote what is queued (`drain`) or only the
  // chunk it is writing.
  void stop_thread(bool drain);

  UniqueFd fd_;
  std::string pending_;  // the recorder's thread only
  std::chrono::steady_clock::time_point pending_since_;  // its first message
  std::vector<int> sync_first_;

  // Used by whichever thread writes chunks (the writer thread, else the
  // caller), never by both.
  ZSTD_CCtx* cctx_ = nullptr;
  std::string frame_;  // reused encoding buffer
  uint64_t size_ = 0;
  uint32_t crc_ = 0;

  std::mutex mutex_;
  std::condition_variable work_;   // a chunk was queued, or stop
  std::condition_variable space_;  // a chunk was taken, or failure
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool stop_ = false;   // the thread ends once the queue is empty
  std::vector<std::string> spare_;  // written chunks' buffers, for reuse
  std::string error_;   // first failure; sticky
  std::atomic<bool> failed_{false};
  std::thread thread_;
  bool no_thread_ = false;  // could not start one, or it was stopped
  // Writer thread only: written since the last sync, and when that was.
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
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
