#include "trace/chunked_stream.h"

#include <unistd.h>

#include "trace/crc32.h"

namespace rrx {

ChunkWriter::ChunkWriter(UniqueFd fd)
    : fd_(std::move(fd)), cctx_(ZSTD_createCCtx()) {}

ChunkWriter::~ChunkWriter() { ZSTD_freeCCtx(cctx_); }

char* ChunkWriter::extend(size_t size) {
  size_t old = pending_.size();
  pending_.resize(old + size);
  return pending_.data() + old;
}

bool ChunkWriter::flush_if_full(std::string* error) {
  return pending_.size() < kChunkTarget || flush(error);
}

bool ChunkWriter::finish(std::string* error) {
  if (!flush(error)) return false;
  if (fsync(fd_.get()) != 0) {
    *error = errno_message("events");
    return false;
  }
  return true;
}

bool ChunkWriter::flush(std::string* error) {
  if (pending_.empty()) return true;
  if (!cctx_) {
    *error = "cannot create a zstd context";
    return false;
  }
  if (!encode_frame(Codec::kZstd, pending_.data(), pending_.size(), cctx_,
                    &frame_, error))
    return false;
  if (!write_all(fd_.get(), frame_.data(), frame_.size())) {
    *error = errno_message("events");
    return false;
  }
  crc_ = crc32(frame_.data(), frame_.size(), crc_);
  size_ += frame_.size();
  pending_.clear();
  // After an outsized event, do not keep its buffers for the whole recording.
  if (pending_.capacity() > 4 * kChunkTarget) {
    std::string().swap(pending_);
    std::string().swap(frame_);
  }
  return true;
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
