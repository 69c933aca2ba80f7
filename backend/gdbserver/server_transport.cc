#include "gdbserver/server_transport.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>  // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include "gdbserver/gdb_server.h"

namespace rrx {
namespace {

// Our sockets never reach a process the replay starts (Asio does not ask
// for close-on-exec).
void close_on_exec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }


namespace asio = boost::asio;
using boost::system::error_code;

// Runs the protocol over one connection. `in` and `out` are Asio sync read
// and write streams (the same socket, or stdin and stdout).
template <typename In, typename Out>
bool serve_connection(In& in, Out& out, DebugTarget* target, std::string* error) {
  GdbServer server(target);
  // While the target runs, read whatever already arrived without blocking:
  // that is how the server sees a Ctrl-C.
  server.set_input_poll([&in] {
    error_code ec;
    asio::socket_base::bytes_readable ready;  // FIONREAD: sockets and pipes
    in.io_control(ready, ec);
    if (ec || ready.get() == 0) return std::string();
    std::string bytes(ready.get(), '\0');
    bytes.resize(in.read_some(asio::buffer(bytes), ec));
    return bytes;
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
  asio::io_context io;
  std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
  std::string address;
  std::string directory;  // the private directory holding the Unix socket
};

ServerTransport::ServerTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServerTransport::~ServerTransport() {
  if (impl_->unix_acceptor) {
    error_code ec;
    impl_->unix_acceptor->close(ec);
    unlink(impl_->address.c_str());
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
  error_code ec;
  i.unix_acceptor.emplace(i.io);
  i.unix_acceptor->open(asio::local::stream_protocol(), ec);
  if (!ec) close_on_exec(i.unix_acceptor->native_handle());
  if (!ec) i.unix_acceptor->bind(asio::local::stream_protocol::endpoint(i.address), ec);
  if (!ec) i.unix_acceptor->listen(1, ec);
  if (ec) {
    *error = "rrx: cannot listen on " + i.address + ": " + ec.message();
    return nullptr;  // the destructor removes what was created
  }
  return transport;
}

std::unique_ptr<ServerTransport> ServerTransport::listen_tcp(uint16_t port, std::string* error) {
  auto impl = std::make_unique<Impl>();
  asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  error_code ec;
  impl->tcp_acceptor.emplace(impl->io);
  impl->tcp_acceptor->open(endpoint.protocol(), ec);
  if (!ec) close_on_exec(impl->tcp_acceptor->native_handle());
  if (!ec) impl->tcp_acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->tcp_acceptor->bind(endpoint, ec);
  if (!ec) impl->tcp_acceptor->listen(1, ec);
  if (ec) {
    *error = "rrx: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message();
    return nullptr;
  }
  auto bound = impl->tcp_acceptor->local_endpoint(ec);
  impl->address = "127.0.0.1:" + std::to_string(ec ? port : bound.port());
  return std::unique_ptr<ServerTransport>(new ServerTransport(std::move(impl)));
}

const std::string& ServerTransport::address() const { return impl_->address; }

bool ServerTransport::serve_one(DebugTarget* target, std::string* error) {
  error_code ec;
  if (impl_->unix_acceptor) {
    asio::local::stream_protocol::socket socket(impl_->io);
    impl_->unix_acceptor->accept(socket, ec);
    if (!ec) close_on_exec(socket.native_handle());
    if (!ec) return serve_connection(socket, socket, target, error);
  } else {
    asio::ip::tcp::socket socket(impl_->io);
    impl_->tcp_acceptor->accept(socket, ec);
    if (!ec) {
      close_on_exec(socket.native_handle());
      // Small packets in lockstep: don't let Nagle delay each reply.
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      return serve_connection(socket, socket, target, error);
    }
  }
  *error = "rrx: cannot accept a debugger connection on " + impl_->address + ": " + ec.message();
  return false;
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
