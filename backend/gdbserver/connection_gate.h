// Lets debuggers into a server one at a time. A thread of its own accepts
// every connection as soon as it arrives, so nobody waits silently in the
// listen backlog: a client the admission rule refuses, or one that comes
// while another debugger is in, is told why in the error reply to its
// first packet (gdb shows "Remote failure reply: E.<why>") and on rrx's
// stderr, then disconnected. The one debugger let in is handed over to
// the caller, which serves it on its own thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace rrx {

class ConnectionGate {
 public:
  // "" admits the client connected on `fd`; anything else is the one line
  // saying why not ("rrx: refused ...").
  using Admission = std::function<std::string(int fd)>;

  // Takes over `listen_fd`, a listening stream socket; `address` names it
  // in messages.
  ConnectionGate(int listen_fd, std::string address, Admission admission);
  // Closes the listening socket and every connection not handed over.
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  // Waits for an admitted debugger and returns its socket (blocking,
  // close-on-exec), now the caller's to close. -1 and *error if the gate
  // can accept no more connections.
  int wait_for_debugger(std::string* error);
  // The debugger from wait_for_debugger left: the next one may come in.
  void debugger_left();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rrx
