#include "trace/message_io.h"

#include <kj/io.h>

namespace rrx {

std::string message_bytes(capnp::MessageBuilder& message) {
  std::string out(capnp::computeSerializedSizeInWords(message) * 8, '\0');
  write_message_to(message, out.data(), out.size());
  return out;
}

void write_message_to(capnp::MessageBuilder& message, char* out, size_t size) {
  kj::ArrayOutputStream stream(
      kj::arrayPtr(reinterpret_cast<kj::byte*>(out), size));
  capnp::writeMessage(stream, message);
}

std::string single_frame(capnp::MessageBuilder& message) {
  std::string bytes = message_bytes(message);
  std::string frame, error;
  // Cannot fail: a serialized message is whole words, far below the cap.
  encode_frame(Codec::kNone, bytes.data(), bytes.size(), nullptr, &frame,
               &error);
  return frame;
}

std::unique_ptr<capnp::FlatArrayMessageReader> open_message(
    const Words& words, size_t* pos, std::string* error) {
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  decode_guarded(
      [&] {
        auto rest = kj::arrayPtr(
            reinterpret_cast<const capnp::word*>(words.data()) + *pos,
            words.size() - *pos);
        size_t size = capnp::expectedSizeInWordsFromPrefix(rest);
        if (size > rest.size()) {
          *error = "message runs past the end of its frame";
          return false;
        }
        // A well-formed message is traversed about once by our decoders;
        // the default limit (64 MiB) is too small for big memory writes and
        // a fixed larger one would let a small hostile message amplify.
        capnp::ReaderOptions options;
        options.traversalLimitInWords = 2 * size + 1024;
        reader = std::make_unique<capnp::FlatArrayMessageReader>(
            rest.slice(0, size), options);
        *pos += size;
        return true;
      },
      error);
  return reader;
}

}  // namespace rrx
