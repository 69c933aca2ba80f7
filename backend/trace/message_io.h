// Cap'n Proto messages in frame payloads: serializing builders, and reading
// messages in place from decoded words with limits sized to each message.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <exception>
#include <memory>
#include <string>

#include "trace/frame.h"

namespace rrx {

// The standard serialization (segment table + segments) of `message`.
std::string message_bytes(capnp::MessageBuilder& message);

// Serializes `message` straight into `out`, which must hold exactly
// capnp::computeSerializedSizeInWords(message) words.
void write_message_to(capnp::MessageBuilder& message, char* out, size_t size);

// Opens the message starting at word `*pos` of `words` and moves *pos past
// it. Returns null with *error set if it does not fit or is malformed.
std::unique_ptr<capnp::FlatArrayMessageReader> open_message(
    const Words& words, size_t* pos, std::string* error);

// One frame (Codec::kNone) holding `message`: a whole single-frame file.
std::string single_frame(capnp::MessageBuilder& message);

// Runs `body`, turning the exceptions Cap'n Proto (or an allocation) may
// throw on malformed input into false + *error.
template <typename Body>
bool decode_guarded(Body&& body, std::string* error) {
  try {
    return body();
  } catch (const kj::Exception& e) {
    *error = std::string("malformed message: ") + e.getDescription().cStr();
    for (char& c : *error)  // callers promise one-line errors
      if (c == '\n') c = ' ';
  } catch (const std::exception& e) {
    *error = std::string("cannot decode: ") + e.what();
  }
  return false;
}

// Decodes `file` as one frame holding exactly one message of type T and
// hands its root to `decode`, which returns false + *error if it objects.
template <typename T, typename Decode>
bool decode_single_message(const std::string& file, Decode&& decode,
                           std::string* error) {
  Words words;
  if (!decode_single_frame(file, &words, error)) return false;
  size_t pos = 0;
  auto message = open_message(words, &pos, error);
  if (!message) return false;
  if (pos != words.size()) {
    *error = "unexpected data after the message";
    return false;
  }
  return decode_guarded([&] { return decode(message->getRoot<T>()); }, error);
}

}  // namespace rrx
