#include "gdbserver/peer_owner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace rrx {
namespace {

// The kernel prints each 32-bit word of an address as the integer its
// network-order bytes make on this (little-endian) machine, and the port
// as a plain number: 127.0.0.1:80 is "0100007F:0050" and, v4-mapped in
// tcp6, "0000000000000000FFFF00000100007F:0050".
std::string proc_net_text(Ipv4Endpoint end, bool ipv6) {
  char text[64];
  uint32_t word = htonl(end.address);
  if (ipv6) {
    snprintf(text, sizeof text, "0000000000000000FFFF0000%08X:%04X", word, end.port);
  } else {
    snprintf(text, sizeof text, "%08X:%04X", word, end.port);
  }
  return text;
}

constexpr std::string_view kEstablished = "01";

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<Ipv4Endpoint> endpoint(const sockaddr_storage& address) {
  if (address.ss_family != AF_INET) return std::nullopt;
  const auto& in = reinterpret_cast<const sockaddr_in&>(address);
  return Ipv4Endpoint{ntohl(in.sin_addr.s_addr), ntohs(in.sin_port)};
}

}  // namespace

std::optional<uid_t> find_socket_owner(std::string_view table, bool ipv6, Ipv4Endpoint local,
                                       Ipv4Endpoint remote) {
  const std::string want_local = proc_net_text(local, ipv6);
  const std::string want_remote = proc_net_text(remote, ipv6);
  std::istringstream lines{std::string(table)};
  std::string line;
  std::getline(lines, line);  // the column titles
  // "sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid ..."
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local_end, remote_end, state, queues, timer, retransmits, uid;
    if (!(fields >> slot >> local_end >> remote_end >> state >> queues >> timer >> retransmits >> uid)) {
      continue;
    }
    if (strcasecmp(local_end.c_str(), want_local.c_str()) != 0 ||
        strcasecmp(remote_end.c_str(), want_remote.c_str()) != 0 || state != kEstablished) {
      continue;
    }
    uid_t owner;
    const char* end = uid.data() + uid.size();
    auto parsed = std::from_chars(uid.data(), end, owner);
    if (parsed.ec != std::errc() || parsed.ptr != end) return std::nullopt;
    return owner;
  }
  return std::nullopt;
}

std::optional<uid_t> tcp_peer_owner(int connected_fd) {
  sockaddr_storage ours{}, theirs{};
  socklen_t ours_size = sizeof ours, theirs_size = sizeof theirs;
  if (getsockname(connected_fd, reinterpret_cast<sockaddr*>(&ours), &ours_size) != 0 ||
      getpeername(connected_fd, reinterpret_cast<sockaddr*>(&theirs), &theirs_size) != 0) {
    return std::nullopt;
  }
  std::optional<Ipv4Endpoint> us = endpoint(ours), peer = endpoint(theirs);
  if (!us || !peer) return std::nullopt;
  // The client's socket: its local end is our peer, its remote end is us.
  if (auto uid = find_socket_owner(read_file("/proc/net/tcp"), false, *peer, *us)) return uid;
  return find_socket_owner(read_file("/proc/net/tcp6"), true, *peer, *us);
}

}  // namespace rrx
