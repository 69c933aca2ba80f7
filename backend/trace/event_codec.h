// Conversions between the engine's plain structs (event.h) and their
// Cap'n Proto form (protocol/trace.capnp). Decoders check what the schema
// cannot (sizes of fixed blobs, known event kinds); reading a malformed
// message may also throw kj::Exception, so call them under decode_guarded.
#pragma once

#include <string>

#include "trace.capnp.h"
#include "trace/event.h"

namespace rrx {

void encode_event(const Event& event, proto::Event::Builder out);
bool decode_event(proto::Event::Reader in, Event* event, std::string* error);

void encode_header(const TraceHeader& header, proto::TraceHeader::Builder out);
bool decode_header(proto::TraceHeader::Reader in, TraceHeader* header,
                   std::string* error);

void encode_summary(const TraceSummary& summary,
                    proto::TraceSummary::Builder out);
TraceSummary decode_summary(proto::TraceSummary::Reader in);

}  // namespace rrx
