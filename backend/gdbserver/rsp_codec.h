// gdb Remote Serial Protocol framing: $payload#xx packets, acks, the Ctrl-C
// interrupt byte, `}` escaping of binary data, and hex helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rrx::rsp {

// Modulo-256 sum of the payload bytes, as sent after '#'.
uint8_t checksum(std::string_view payload);

// "$payload#xx". The payload must already be escaped where needed.
std::string frame(std::string_view payload);

// Escapes '#', '$', '}' and '*' as '}' followed by the byte xor 0x20: the
// encoding of binary replies (qXfer, x) and of X packet data.
std::string escape_binary(std::string_view data);
std::string unescape_binary(std::string_view data);

std::string to_hex(const void* data, size_t length);
inline std::string to_hex(std::string_view s) { return to_hex(s.data(), s.size()); }
// Empty optional on odd length or a non-hex digit.
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);
// A hex number ("1f", no prefix); empty optional if malformed or too long.
std::optional<uint64_t> parse_hex_number(std::string_view hex);
std::string hex_number(uint64_t value);

// What arrives from the debugger, split into units.
struct Incoming {
  enum class Kind {
    kPacket,     // a packet with a good checksum: payload (still escaped)
    kBadPacket,  // checksum mismatch: answer '-' (in ack mode)
    kAck,        // '+'
    kNack,       // '-': resend the last packet
    kInterrupt,  // 0x03 outside a packet: Ctrl-C
    kTooLong,    // a packet over the size limit, dropped unread
  };
  Kind kind;
  std::string payload;
};

// Incremental decoder: feed bytes as they arrive, take complete units in
// order. Bytes outside packets other than +, - and 0x03 are ignored.
class PacketDecoder {
 public:
  // Payloads longer than `max_payload` bytes are not kept: memory stays
  // bounded whatever a client sends.
  explicit PacketDecoder(size_t max_payload = SIZE_MAX) : max_payload_(max_payload) {}
  void feed(std::string_view bytes);
  // The next complete unit, if any.
  std::optional<Incoming> next();
  // True if a Ctrl-C is among the units not yet taken.
  bool interrupt_pending() const;

 private:
  void append(char c);
  void push(Incoming unit);
  static constexpr size_t kMaxQueued = 1024;
  enum class State { kIdle, kPayload, kEscape, kChecksum1, kChecksum2 };
  State state_ = State::kIdle;
  const size_t max_payload_;
  bool too_long_ = false;  // the packet being read went over max_payload_
  std::string payload_;
  std::string checksum_text_;
  std::deque<Incoming> ready_;
};

}  // namespace rrx::rsp
