#include "gdbserver/rsp_codec.h"

namespace rrx::rsp {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool needs_escape(char c) { return c == '#' || c == '$' || c == '}' || c == '*'; }

}  // namespace

uint8_t checksum(std::string_view payload) {
  uint8_t sum = 0;
  for (char c : payload) sum += static_cast<uint8_t>(c);
  return sum;
}

std::string frame(std::string_view payload) {
  uint8_t sum = checksum(payload);
  std::string out;
  out.reserve(payload.size() + 4);
  out += '$';
  out += payload;
  out += '#';
  out += kHexDigits[sum >> 4];
  out += kHexDigits[sum & 0xf];
  return out;
}

std::string escape_binary(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (char c : data) {
    if (needs_escape(c)) {
      out += '}';
      out += static_cast<char>(c ^ 0x20);
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_binary(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '}' && i + 1 < data.size()) {
      out += static_cast<char>(data[++i] ^ 0x20);
    } else {
      out += data[i];
    }
  }
  return out;
}

std::string to_hex(const void* data, size_t length) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    out += kHexDigits[bytes[i] >> 4];
    out += kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::optional<uint64_t> parse_hex_number(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : hex) {
    int digit = hex_value(c);
    if (digit < 0) return std::nullopt;
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  return value;
}

std::string hex_number(uint64_t value) {
  std::string out;
  do {
    out.insert(out.begin(), kHexDigits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return out;
}

void PacketDecoder::append(char c) {
  if (payload_.size() < max_payload_) {
    payload_ += c;
  } else {
    too_long_ = true;
  }
}

void PacketDecoder::feed(std::string_view bytes) {
  for (char c : bytes) {
    switch (state_) {
      case State::kIdle:
        if (c == '$') {
          payload_.clear();
          too_long_ = false;
          state_ = State::kPayload;
        } else if (c == '+') {
          push({Incoming::Kind::kAck, {}});
        } else if (c == '-') {
          push({Incoming::Kind::kNack, {}});
        } else if (c == '\x03') {
          push({Incoming::Kind::kInterrupt, {}});
        }
        break;
      case State::kPayload:
        if (c == '#') {
          checksum_text_.clear();
          state_ = State::kChecksum1;
        } else {
          append(c);
          // The byte after '}' is data even if it looks like '#'.
          if (c == '}') state_ = State::kEscape;
        }
        break;
      case State::kEscape:
        append(c);
        state_ = State::kPayload;
        break;
      case State::kChecksum1:
        checksum_text_ += c;
        state_ = State::kChecksum2;
        break;
      case State::kChecksum2: {
        checksum_text_ += c;
        auto sum = parse_hex_number(checksum_text_);
        bool good = sum && *sum == checksum(payload_);
        if (too_long_) {
          push({Incoming::Kind::kTooLong, {}});
        } else {
          push({good ? Incoming::Kind::kPacket : Incoming::Kind::kBadPacket,
                            std::move(payload_)});
        }
        payload_.clear();
        state_ = State::kIdle;
        break;
      }
    }
  }
}

void PacketDecoder::push(Incoming unit) {
  // A client that sends faster than we answer (or floods acks during a
  // long resume) must not grow the queue without limit; only a Ctrl-C is
  // always kept.
  if (ready_.size() < kMaxQueued || (unit.kind == Incoming::Kind::kInterrupt && !interrupt_pending())) {
    ready_.push_back(std::move(unit));
  }
}

std::optional<Incoming> PacketDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  Incoming unit = std::move(ready_.front());
  ready_.pop_front();
  return unit;
}

bool PacketDecoder::interrupt_pending() const {
  for (const Incoming& unit : ready_) {
    if (unit.kind == Incoming::Kind::kInterrupt) return true;
  }
  return false;
}

}  // namespace rrx::rsp
