// The owner of a local TCP connection's other end, from /proc/net/tcp.
#include "gdbserver/peer_owner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace rrx {
namespace {

// A server listening on 127.0.0.1:8080 (0x1F90) with one client of uid 1001
// on port 40000 (0x9C40); a closed connection of the same client port, in
// TIME_WAIT (the kernel shows those with uid 0).
constexpr std::string_view kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1152 1 0000000027655b26 100 0 0 10 0\n"
    "   1: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00000376 00000000     0        0 0 3 0000000030fc03df\n"
    "   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 7001 1 0000000030fc03e0 20 4 30 10 -1\n"
    "   3: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 7002 1 0000000030fc03e1 20 4 30 10 -1\n";

constexpr Ipv4Endpoint kServer{0x7f000001, 8080};

TEST(PeerOwner, FindsTheClientSocketsOwner) {
  EXPECT_EQ(find_socket_owner(kTcp, false, {0x7f000001, 40000}, kServer), 1001u);
  // Our own end of the connection is another row, owned by the server.
  EXPECT_EQ(find_socket_owner(kTcp, false, kServer, {0x7f000001, 40000}), 0u);
}

TEST(PeerOwner, OnlyEstablishedSocketsCount) {
  EXPECT_EQ(find_socket_owner(kTcp, false, {0x7f000001, 40001}, kServer), std::nullopt);
}

TEST(PeerOwner, NoMatchingRowIsUnknown) {
  EXPECT_EQ(find_socket_owner(kTcp, false, {0x7f000001, 40002}, kServer), std::nullopt);
  EXPECT_EQ(find_socket_owner(kTcp, false, {0x7f000002, 40000}, kServer), std::nullopt);
  EXPECT_EQ(find_socket_owner("", false, {0x7f000001, 40000}, kServer), std::nullopt);
}

TEST(PeerOwner, MalformedUidIsUnknown) {
  std::string table(kTcp.substr(0, kTcp.find('\n') + 1));
  table +=
      "   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  99999999999 0 7002\n";
  EXPECT_EQ(find_socket_owner(table, false, {0x7f000001, 40000}, kServer), std::nullopt);
}

TEST(PeerOwner, V4MappedRowsOfTcp6) {
  constexpr std::string_view kTcp6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0000000000000000FFFF00000100007F:9C40 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 7003 1 0000000030fc03e2 20 4 30 10 -1\n";
  EXPECT_EQ(find_socket_owner(kTcp6, true, {0x7f000001, 40000}, kServer), 1002u);
}

// A connection made here and now: the other end is ours.
int listen_local(sockaddr_in* address, int family_of_client, int* client) {
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *address = {};
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof *address;
  if (bind(server, reinterpret_cast<sockaddr*>(address), size) != 0 || listen(server, 1) != 0 ||
      getsockname(server, reinterpret_cast<sockaddr*>(address), &size) != 0) {
    return -1;
  }
  *client = socket(family_of_client, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return server;
}

TEST(PeerOwner, LiveConnectionIsOurs) {
  sockaddr_in address;
  int client = -1;
  int server = listen_local(&address, AF_INET, &client);
  ASSERT_GE(server, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  int accepted = accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(tcp_peer_owner(accepted), geteuid());
  close(accepted);
  close(client);
  close(server);
}

TEST(PeerOwner, LiveConnectionOfAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  constexpr uid_t kNobody = 65534;
  sockaddr_in address;
  int client = -1;
  int server = listen_local(&address, AF_INET, &client);
  ASSERT_GE(server, 0);
  close(client);  // the child makes its own, as the other user
  pid_t child = fork();
  if (child == 0) {
    int s = -1;
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(2);
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) _exit(3);
    char byte;
    while (read(s, &byte, 1) > 0) {
    }
    _exit(0);  // the parent closed the connection: it has looked
  }
  int accepted = accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(tcp_peer_owner(accepted), kNobody);
  close(accepted);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  close(server);
}

TEST(PeerOwner, LiveIpv6ClientIsFoundV4Mapped) {
  sockaddr_in address;
  int client = -1;
  int server = listen_local(&address, AF_INET6, &client);
  ASSERT_GE(server, 0);
  if (client < 0) GTEST_SKIP() << "no IPv6 sockets here";
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = address.sin_port;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&mapped), sizeof mapped), 0);
  int accepted = accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(tcp_peer_owner(accepted), geteuid());
  close(accepted);
  close(client);
  close(server);
}

}  // namespace
}  // namespace rrx
