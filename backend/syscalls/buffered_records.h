// Reading the records of a syscall buffer (preload/syscallbuf_abi.h), for
// `rrx dump` and the tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

struct BufferedCall {
  int nr = 0;
  int64_t result = 0;
  uint64_t args[6] = {};
  uint64_t output_bytes = 0;
  bool partial = false;  // a write finished by a traced write (RRX_RECORD_PARTIAL)
};

// Decodes `data`, the records part of a buffer. False if it is malformed
// (a record running past the end, or a size that is not a multiple of 8).
bool decode_buffered_records(const std::string& data, std::vector<BufferedCall>* calls);

}  // namespace rrx
