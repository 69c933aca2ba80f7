// Connections from a debugger to a GdbServer, one at a time: a Unix socket
// in a fresh private directory (the default: only this user can connect),
// TCP on 127.0.0.1 when a port is asked for, or stdin/stdout for
// `target extended-remote | rrx ...`. On both sockets only the user running
// rrx and root are let in (TCP clients are told apart through
// /proc/net/tcp, see peer_owner.h); anyone else, and a second debugger
// while one is served, gets an error reply and a line on stderr instead
// (connection_gate.h). Errors come back as one line of text ("rrx: cannot
// listen on 127.0.0.1:PORT: Address already in use"); no exception escapes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gdbserver/debug_target.h"

namespace rrx {

class ServerTransport {
 public:
  // Creates a 0700 directory with mkdtemp under $TMPDIR (else /tmp) and
  // listens on a socket inside it. nullptr and *error on failure.
  static std::unique_ptr<ServerTransport> listen_unix(std::string* error);
  // Listens on 127.0.0.1:port; port 0 picks a free one (see address()).
  static std::unique_ptr<ServerTransport> listen_tcp(uint16_t port, std::string* error);

  // Removes the Unix socket and its directory.
  ~ServerTransport();
  ServerTransport(const ServerTransport&) = delete;
  ServerTransport& operator=(const ServerTransport&) = delete;

  // What the debugger connects to: the socket path (gdb: `target remote
  // PATH`) or "127.0.0.1:PORT".
  const std::string& address() const;

  // Waits for one debugger that may come in and serves it until it
  // detaches, kills the session or disconnects (all normal ends: true).
  // False and *error on an I/O failure.
  bool serve_one(DebugTarget* target, std::string* error);

 private:
  struct Impl;
  explicit ServerTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Serves one debugger on stdin/stdout until it detaches or closes them.
bool serve_stdio(DebugTarget* target, std::string* error);

}  // namespace rrx
