#include "gdbserver/server_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>  // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include "gdbserver/connection_gate.h"
#include "gdbserver/gdb_server.h"
#include "gdbserver/peer_owner.h"

namespace rrx {
namespace {

// Our sockets never reach a process the replay starts (Asio does not ask
// for close-on-exec; the gate accepts with SOCK_CLOEXEC).
void close_on_exec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

namespace asio = boost::asio;
using boost::system::error_code;

// The gate accepts at once, so the backlog only holds connections between
// two accepts.
constexpr int kBacklog = 16;

// Who may debug a replay: the user running rrx, and root. Anyone else
// could read the recorded memory through the server, which the trace's
// 0700 directory keeps from them. "" admits; otherwise the line saying why not.
std::string admit_owner_or_root(std::optional<uid_t> peer, const std::string& address) {
  uid_t owner = geteuid();
  if (peer && (*peer == 0 || *peer == owner)) return "";
  std::string who = peer ? "uid " + std::to_string(*peer) : "an unknown user";
  std::string allowed = owner == 0 ? "only root" : "only uid " + std::to_string(owner) + " and root";
  return "rrx: refused a debugger connection from " + who + " on " + address + ": " + allowed +
         " may connect";
}

std::string tcp_admission(int fd, const std::string& address) {
  return admit_owner_or_root(tcp_peer_owner(fd), address);
}

// The socket's 0700 directory already keeps others out; this holds even if
// someone opened the directory up.
std::string unix_admission(int fd, const std::string& address) {
  ucred peer{};
  socklen_t size = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
    return admit_owner_or_root(std::nullopt, address);
  }
  return admit_owner_or_root(peer.uid, address);
}

// Runs the protocol over one connection. `in` and `out` are Asio sync read
// and write streams (the same socket, or stdin and stdout).
template <typename In, typename Out>
bool serve_connection(In& in, Out& out, DebugTarget* target, std::string* error) {
  GdbServer server(target);
  // While the target runs, read whatever already arrived without blocking:
  // that is how the server sees a Ctrl-C, or that the debugger is gone.
  server.set_input_poll([&in]() -> std::optional<std::string> {
    error_code ec;
    asio::socket_base::bytes_readable ready;  // FIONREAD: sockets and pipes
    in.io_control(ready, ec);
    if (ec) return std::nullopt;
    if (ready.get() == 0) {
      // Nothing to read: readable anyway (end of file) or hung up means closed.
      pollfd p{.fd = in.native_handle(), .events = POLLIN | POLLRDHUP, .revents = 0};
      bool closed = poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
      if (closed) return std::nullopt;
      return std::string();
    }
    std::string bytes(ready.get(), '\0');
    bytes.resize(in.read_some(asio::buffer(bytes), ec));
    return bytes;
  });
  server.set_immediate_output([&out](const std::string& bytes) {
    error_code ec;
    asio::write(out, asio::buffer(bytes), ec);  // a failure shows at the next write
  });
  std::array<char, 16384> buffer;
  while (!server.finished()) {
    error_code ec;
    size_t n = in.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec) {
      *error = "rrx: debugger connection: " + ec.message();
      return false;
    }
    std::string reply = server.feed(std::string_view(buffer.data(), n));
    asio::write(out, asio::buffer(reply), ec);
    if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) return true;
    if (ec) {
      *error = "rrx: debugger connection: " + ec.message();
      return false;
    }
  }
  return true;
}

// Writing to a pipe the debugger closed raises SIGPIPE. Ignoring it process-
// wide would leak into the tracees (dispositions survive fork and exec), so
// the stdio writer blocks it just around its writes and drops any pending one.
class PipeWriter {
 public:
  explicit PipeWriter(asio::posix::stream_descriptor* out) : out_(out) {}

  template <typename Buffers>
  size_t write_some(const Buffers& buffers, error_code& ec) {
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    size_t n = out_->write_some(buffers, ec);
    if (ec == asio::error::broken_pipe) {
      timespec zero{};
      sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return n;
  }

 private:
  asio::posix::stream_descriptor* out_;
};

}  // namespace

struct ServerTransport::Impl {
  std::unique_ptr<ConnectionGate> gate;
  std::string address;
  std::string directory;  // the private directory holding the Unix socket
  bool tcp = false;
};

ServerTransport::ServerTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServerTransport::~ServerTransport() {
  if (impl_->gate) {
    impl_->gate.reset();  // closes the listening socket
    if (!impl_->tcp) unlink(impl_->address.c_str());
  }
  if (!impl_->directory.empty()) rmdir(impl_->directory.c_str());
}

std::unique_ptr<ServerTransport> ServerTransport::listen_unix(std::string* error) {
  auto impl = std::make_unique<Impl>();
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/rrx-XXXXXX";
  // mkdtemp creates the directory with mode 0700.
  if (!mkdtemp(dir.data())) {
    *error = "rrx: cannot create a directory for the debugger socket in " + dir + ": " +
             strerror(errno);
    return nullptr;
  }
  impl->directory = dir;
  impl->address = dir + "/gdb.sock";
  auto transport = std::unique_ptr<ServerTransport>(new ServerTransport(std::move(impl)));
  Impl& i = *transport->impl_;
  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor(io);
  error_code ec;
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) close_on_exec(acceptor.native_handle());
  if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(i.address), ec);
  if (!ec) acceptor.listen(kBacklog, ec);
  if (ec) {
    *error = "rrx: cannot listen on " + i.address + ": " + ec.message();
    unlink(i.address.c_str());
    return nullptr;  // the destructor removes the directory
  }
  i.gate = std::make_unique<ConnectionGate>(acceptor.release(), i.address,
                                            [address = i.address](int fd) {
                                              return unix_admission(fd, address);
                                            });
  return transport;
}

std::unique_ptr<ServerTransport> ServerTransport::listen_tcp(uint16_t port, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->tcp = true;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) close_on_exec(acceptor.native_handle());
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(kBacklog, ec);
  if (ec) {
    *error = "rrx: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
    return nullptr;
  }
  auto bound = acceptor.local_endpoint(ec);
  impl->address = "127.0.0.1:" + std::to_string(ec ? port : bound.port());
  impl->gate = std::make_unique<ConnectionGate>(acceptor.release(), impl->address,
                                                [address = impl->address](int fd) {
                                                  return tcp_admission(fd, address);
                                                });
  return std::unique_ptr<ServerTransport>(new ServerTransport(std::move(impl)));
}

const std::string& ServerTransport::address() const { return impl_->address; }

bool ServerTransport::serve_one(DebugTarget* target, std::string* error) {
  int fd = impl_->gate->wait_for_debugger(error);
  if (fd < 0) return false;
  asio::io_context io;
  asio::generic::stream_protocol::socket socket(io);
  error_code ec;
  if (impl_->tcp) {
    socket.assign(asio::generic::stream_protocol(AF_INET, IPPROTO_TCP), fd, ec);
    // Small packets in lockstep: don't let Nagle delay each reply.
    if (!ec) socket.set_option(asio::ip::tcp::no_delay(true), ec);
  } else {
    socket.assign(asio::generic::stream_protocol(AF_UNIX, 0), fd, ec);
  }
  bool ok = false;
  if (ec) {
    close(fd);
    *error = "rrx: debugger connection on " + impl_->address + ": " + ec.message();
  } else {
    ok = serve_connection(socket, socket, target, error);
    socket.close(ec);
  }
  impl_->gate->debugger_left();
  return ok;
}

bool serve_stdio(DebugTarget* target, std::string* error) {
  asio::io_context io;
  error_code ec;
  // Duplicates, so closing the descriptors does not close stdin/stdout.
  asio::posix::stream_descriptor in(io), out(io);
  in.assign(dup(STDIN_FILENO), ec);
  if (!ec) out.assign(dup(STDOUT_FILENO), ec);
  if (ec) {
    *error = "rrx: cannot serve the debugger on stdin/stdout: " + ec.message();
    return false;
  }
  PipeWriter writer(&out);
  return serve_connection(in, writer, target, error);
}

}  // namespace rrx
