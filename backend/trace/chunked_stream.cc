#include "trace/chunked_stream.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <exception>
#include <system_error>

#include "trace/crc32.h"

namespace rrx {

ChunkWriter::ChunkWriter(UniqueFd fd)
    : fd_(std::move(fd)), cctx_(ZSTD_createCCtx()) {}

ChunkWriter::~ChunkWriter() {
  stop_thread(true);
  ZSTD_freeCCtx(cctx_);
}

char* ChunkWriter::extend(size_t size) {
  size_t old = pending_.size();
  if (old == 0) pending_since_ = std::chrono::steady_clock::now();
  pending_.resize(old + size);
  return pending_.data() + old;
}

bool ChunkWriter::check(std::string* error) {
  if (!failed_.load(std::memory_order_acquire)) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  *error = error_;
  return false;
}

bool ChunkWriter::flush_if_full(std::string* error) {
  if (pending_.size() < kChunkTarget) return check(error);
  return flush(error);
}

bool ChunkWriter::flush_if_stale(std::string* error) {
  if (pending_.empty() ||
      std::chrono::steady_clock::now() - pending_since_ < kMaxChunkAge)
    return check(error);
  return flush(error);
}

bool ChunkWriter::flush(std::string* error) {
  if (!check(error)) return false;
  if (pending_.empty()) return true;
  if (!thread_.joinable() && !no_thread_) start_thread();
  return hand_off(error);
}

bool ChunkWriter::finish(std::string* error) {
  bool ok = check(error) && hand_off(error);
  stop_thread(ok);
  no_thread_ = true;
  // The drain may have failed too.
  if (!ok || !check(error)) return false;
  for (int fd : sync_first_) {
    if (fsync(fd) != 0) {
      *error = errno_message("cannot sync the trace");
      return false;
    }
  }
  if (fsync(fd_.get()) != 0) {
    *error = errno_message("events");
    return false;
  }
  return true;
}

void ChunkWriter::fail(const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.empty()) error_ = error;
  for (char& c : error_)  // errors are one line
    if (c == '\n') c = ' ';
  failed_.store(true, std::memory_order_release);
  queue_.clear();  // nothing after a failed chunk is worth writing
  queued_bytes_ = 0;
  space_.notify_all();
}

bool ChunkWriter::hand_off(std::string* error) {
  if (pending_.empty()) return true;
  if (!thread_.joinable()) {
    // No thread: write it here.
    if (!write_chunk(pending_, error)) {
      fail(*error);
      return false;
    }
    pending_.clear();
    if (pending_.capacity() > 4 * kChunkTarget) std::string().swap(pending_);
    return true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  space_.wait(lock, [&] {
    return failed_.load(std::memory_order_relaxed) || queue_.empty() ||
           (queue_.size() < kMaxQueuedChunks &&
            queued_bytes_ < kMaxQueuedBytes);
  });
  if (failed_.load(std::memory_order_relaxed)) {
    *error = error_;
    return false;
  }
  queued_bytes_ += pending_.size();
  queue_.push_back(std::move(pending_));
  pending_ = std::string();
  if (!spare_.empty()) {
    pending_ = std::move(spare_.back());
    spare_.pop_back();
  }
  lock.unlock();
  work_.notify_one();
  return true;
}

bool ChunkWriter::write_chunk(const std::string& raw, std::string* error) {
  if (!cctx_) {
    *error = "cannot create a zstd context";
    return false;
  }
  try {
    if (!encode_frame(Codec::kZstd, raw.data(), raw.size(), cctx_, &frame_,
                      error))
      return false;
  } catch (const std::exception& e) {  // std::bad_alloc
    *error = std::string("events: cannot compress a chunk: ") + e.what();
    return false;
  }
  if (!write_all(fd_.get(), frame_.data(), frame_.size())) {
    *error = errno_message("events");
    return false;
  }
  crc_ = crc32(frame_.data(), frame_.size(), crc_);
  size_ += frame_.size();
  // After an outsized event, do not keep its buffer for the whole recording.
  if (frame_.capacity() > 4 * kChunkTarget) std::string().swap(frame_);
  return true;
}

namespace {

// The recorder pins itself (and its tracees) to one CPU before it starts
// this thread, which inherits that. Compressing there would only take turns
// with the recording: let the thread run on any CPU the process may use
// (the kernel keeps only those our cpuset allows), so the scheduler puts it
// on an idle one. Not only on the others: one of them may be saturated.
void unpin_this_thread() {
  long count = sysconf(_SC_NPROCESSORS_CONF);
  if (count <= 0 || count > CPU_SETSIZE) count = CPU_SETSIZE;
  cpu_set_t all;
  CPU_ZERO(&all);
  for (long cpu = 0; cpu < count; ++cpu) CPU_SET(cpu, &all);
  sched_setaffinity(0, sizeof all, &all);  // on failure, stay pinned
}

}  // namespace

void ChunkWriter::run() {
  unpin_this_thread();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto ready = [&] { return stop_ || !queue_.empty(); };
    if (unsynced_) {
      // Sync once nothing more arrives, or kMaxChunkAge after the last
      // sync while writes keep coming.
      if (!work_.wait_until(lock, last_sync_ + kMaxChunkAge, ready) ||
          std::chrono::steady_clock::now() >= last_sync_ + kMaxChunkAge) {
        lock.unlock();
        sync_files();
        lock.lock();
        continue;
      }
    } else {
      work_.wait(lock, ready);
    }
    if (queue_.empty()) return;  // stopped, and everything is written
    std::string chunk = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= chunk.size();
    lock.unlock();
    space_.notify_one();
    std::string error;
    bool ok = write_chunk(chunk, &error);
    if (!ok) fail(error);
    unsynced_ = ok;
    chunk.clear();
    lock.lock();
    // Recycle the buffer as a later pending chunk (an outsized one is freed).
    if (ok && chunk.capacity() <= 4 * kChunkTarget && spare_.size() < 2)
      spare_.push_back(std::move(chunk));
  }
}

void ChunkWriter::sync_files() {
  // Failures are not errors of the recording: finish() syncs again and
  // reports them.
  for (int fd : sync_first_) fsync(fd);
  fdatasync(fd_.get());
  unsynced_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

void ChunkWriter::start_thread() {
  // The thread starts with every signal blocked: the recorder's signals
  // (SIGINT, SIGCHLD, ...) must reach the recorder's thread. A SIGXFSZ
  // from write(2) then stays pending and the write fails with EFBIG.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    no_thread_ = true;  // compress and write in the caller's thread
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ChunkWriter::stop_thread(bool drain) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!drain) {
      queue_.clear();
      queued_bytes_ = 0;
    }
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

bool ChunkReader::next(Words* out, std::string* error) {
  error->clear();
  if (offset_ == file_size_) return false;
  std::string at = " at offset " + std::to_string(offset_);
  if (file_size_ - offset_ < kFrameHeaderSize) {
    *error = "truncated chunk header" + at;
    return false;
  }
  char raw_header[kFrameHeaderSize];
  FrameHeader header;
  ssize_t got = pread_full(fd_.get(), raw_header, kFrameHeaderSize, offset_);
  if (got != static_cast<ssize_t>(kFrameHeaderSize)) {
    *error = got < 0 ? errno_message("cannot read chunk header" + at)
                     : "chunk header vanished" + at;
    return false;
  }
  if (!parse_frame_header(raw_header, &header, error)) {
    *error += at;
    return false;
  }
  if (header.codec != Codec::kZstd) {
    *error = "chunk is not zstd-compressed" + at;
    return false;
  }
  uint64_t payload_offset = offset_ + kFrameHeaderSize;
  if (header.stored_size > file_size_ - payload_offset) {
    *error = "truncated chunk" + at;
    return false;
  }
  std::string stored(header.stored_size, '\0');
  got = pread_full(fd_.get(), stored.data(), stored.size(), payload_offset);
  if (got < 0 || static_cast<uint64_t>(got) != header.stored_size) {
    *error = got < 0 ? errno_message("cannot read chunk" + at)
                     : "chunk vanished" + at;
    return false;
  }
  if (!decode_payload(header, stored.data(), out, error)) {
    *error += at;
    return false;
  }
  chunk_offset_ = offset_;
  offset_ = payload_offset + header.stored_size;
  return true;
}

}  // namespace rrx
