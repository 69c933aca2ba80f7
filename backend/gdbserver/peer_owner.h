// Which user is at the other end of a TCP connection from this machine.
// The kernel lists every TCP socket of the network namespace with its
// owner's uid in /proc/net/tcp (IPv4) and /proc/net/tcp6 (IPv6, where a
// socket connected to an IPv4 address shows it v4-mapped); the client's
// socket is the one whose local end is our peer and whose remote end is us.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace rrx {

struct Ipv4Endpoint {
  uint32_t address;  // host byte order: 127.0.0.1 is 0x7f000001
  uint16_t port;
};

// The uid of the ESTABLISHED socket in `table` (the text of /proc/net/tcp,
// or of /proc/net/tcp6 if `ipv6`) whose local end is `local` and remote
// end is `remote`; nullopt if there is none.
std::optional<uid_t> find_socket_owner(std::string_view table, bool ipv6, Ipv4Endpoint local,
                                       Ipv4Endpoint remote);

// The uid owning the other end of `connected_fd`, an IPv4 TCP socket
// connected from this machine; nullopt if it cannot be told (not IPv4, or
// the client's socket is gone or no longer ESTABLISHED).
std::optional<uid_t> tcp_peer_owner(int connected_fd);

}  // namespace rrx
