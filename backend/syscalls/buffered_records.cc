#include "syscalls/buffered_records.h"

#include <cstring>

#include "preload/syscallbuf_abi.h"

namespace rrx {

bool decode_buffered_records(const std::string& data, std::vector<BufferedCall>* calls) {
  size_t pos = 0;
  while (pos < data.size()) {
    struct rrx_record rec;
    if (data.size() - pos < sizeof rec) return false;
    memcpy(&rec, data.data() + pos, sizeof rec);
    if (rec.size < sizeof rec || rec.size % 8 != 0 || rec.size > data.size() - pos) return false;
    BufferedCall call;
    call.nr = rec.nr;
    call.result = rec.ret;
    call.partial = (rec.flags & RRX_RECORD_PARTIAL) != 0;
    memcpy(call.args, rec.args, sizeof call.args);
    size_t out = pos + sizeof rec;
    for (uint32_t i = 0; i < rec.nout; ++i) {
      struct rrx_output o;
      if (pos + rec.size - out < sizeof o) return false;
      memcpy(&o, data.data() + out, sizeof o);
      uint64_t padded = (o.len + 7) & ~uint64_t{7};
      if (padded > pos + rec.size - out - sizeof o) return false;
      call.output_bytes += o.len;
      out += sizeof o + padded;
    }
    calls->push_back(call);
    pos += rec.size;
  }
  return true;
}

}  // namespace rrx
