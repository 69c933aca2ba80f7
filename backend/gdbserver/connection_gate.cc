#include "gdbserver/connection_gate.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>  // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "gdbserver/rsp_codec.h"

namespace rrx {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Protocol = asio::generic::stream_protocol;

// Bounds on what clients being turned away can cost: their number at once,
// the packet kept from each, and how long each may stay.
constexpr size_t kMaxTurningAway = 16;
constexpr size_t kMaxFirstPacket = 4096;
constexpr auto kTurnAwayTime = std::chrono::seconds(5);

Protocol protocol_of(int fd) {
  int family = AF_UNSPEC, protocol = 0;
  socklen_t size = sizeof family;
  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &size);
  size = sizeof protocol;
  getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size);
  return Protocol(family, protocol);
}

// "E.<why>" carries text; the framing characters must not appear in it.
std::string error_reply(const std::string& why) {
  std::string text = why;
  for (char& c : text) {
    if (c == '$' || c == '#' || c == '}' || c == '*') c = '?';
  }
  return "+" + rsp::frame("E." + text);
}

// One client being turned away: its first packet is answered with the
// error, then it gets time (kTurnAwayTime) to hang up first (closing with its bytes unread
// would reset the connection, and the reset can destroy the reply before
// the client reads it).
class TurnAway : public std::enable_shared_from_this<TurnAway> {
 public:
  TurnAway(asio::io_context& io, Protocol protocol, int fd, std::string reply, size_t* count)
      : socket_(io), deadline_(io), decoder_(kMaxFirstPacket), reply_(std::move(reply)),
        count_(count) {
    error_code ec;
    socket_.assign(protocol, fd, ec);
    if (ec) close(fd);
    ++*count_;
  }
  ~TurnAway() { --*count_; }

  void start() {
    deadline_.expires_after(kTurnAwayTime);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->finish();
    });
    read_first_packet();
  }

 private:
  void read_first_packet() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) return self->finish();
      self->decoder_.feed(std::string_view(self->buffer_.data(), n));
      while (auto unit = self->decoder_.next()) {
        if (unit->kind == rsp::Incoming::Kind::kPacket && unit->payload == "QStartNoAckMode") {
          // lldb's first packet. lldb 19 shows no error reply to it and then
          // waits on; hanging up makes it say "Connection shut down by
          // remote side while waiting for reply to initial handshake
          // packet" (the reason is on rrx's stderr).
          return self->hang_up();
        }
        if (unit->kind != rsp::Incoming::Kind::kAck && unit->kind != rsp::Incoming::Kind::kNack) {
          return self->answer();
        }
      }
      self->read_first_packet();
    });
  }

  void answer() {
    asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->finish();
      self->hang_up();
    });
  }

  void hang_up() {
    error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->finish();  // eof: the client hung up
      self->drain();
    });
  }

  void finish() {
    error_code ec;
    deadline_.cancel(ec);
    socket_.close(ec);
  }

  Protocol::socket socket_;
  asio::steady_timer deadline_;
  rsp::PacketDecoder decoder_;
  std::array<char, 4096> buffer_;
  std::string reply_;
  size_t* count_;
};

}  // namespace

struct ConnectionGate::Impl {
  // Declared before `io`, whose destruction ends the TurnAways counting here.
  size_t turning_away = 0;
  asio::io_context io;
  asio::basic_socket_acceptor<Protocol> listener{io};
  Protocol protocol{AF_UNSPEC, 0};
  std::string address;
  Admission admission;

  std::mutex mutex;
  std::condition_variable handed_over;
  int admitted_fd = -1;  // let in, not yet taken by wait_for_debugger
  bool occupied = false;  // a debugger is in (admitted or being served)
  std::string failure;   // why no more connections can be accepted

  std::thread thread;

  void accept_next() {
    listener.async_wait(asio::socket_base::wait_read, [this](error_code ec) {
      if (ec) return;  // closed: the gate is going away
      int fd = accept4(listener.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        admit_or_turn_away(fd);
      } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        // Out of descriptors, say: retrying at once would spin.
        std::lock_guard<std::mutex> lock(mutex);
        failure = "rrx: cannot accept a debugger connection on " + address + ": " + strerror(errno);
        handed_over.notify_all();
        return;
      }
      accept_next();
    });
  }

  void admit_or_turn_away(int fd) {
    std::string why = admission(fd);
    if (why.empty()) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!occupied) {
        occupied = true;
        admitted_fd = fd;
        handed_over.notify_all();
        return;
      }
      why = "rrx: turned away a debugger on " + address +
            ": another debugger is connected, and a replay serves one at a time";
    }
    fprintf(stderr, "%s\n", why.c_str());
    if (turning_away >= kMaxTurningAway) {
      close(fd);
      return;
    }
    std::make_shared<TurnAway>(io, protocol, fd, error_reply(why), &turning_away)->start();
  }
};

ConnectionGate::ConnectionGate(int listen_fd, std::string address, Admission admission)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->admission = std::move(admission);
  impl_->protocol = protocol_of(listen_fd);
  error_code ec;
  impl_->listener.assign(impl_->protocol, listen_fd, ec);
  if (ec) {
    close(listen_fd);
    impl_->failure = "rrx: cannot accept debugger connections on " + impl_->address + ": " + ec.message();
    return;
  }
  // Readiness can be stale (a client that gave up): accept4 must not block.
  impl_->listener.non_blocking(true, ec);
  impl_->accept_next();
  // Signals for the process (SIGINT, SIGCHLD, ...) must reach the main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

ConnectionGate::~ConnectionGate() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->admitted_fd >= 0) close(impl_->admitted_fd);
}

int ConnectionGate::wait_for_debugger(std::string* error) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->handed_over.wait(lock, [this] { return impl_->admitted_fd >= 0 || !impl_->failure.empty(); });
  if (impl_->admitted_fd < 0) {
    *error = impl_->failure;
    return -1;
  }
  return std::exchange(impl_->admitted_fd, -1);
}

void ConnectionGate::debugger_left() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->occupied = false;
}

}  // namespace rrx
