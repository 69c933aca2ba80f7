// The gdb remote protocol state machine for one debugger connection. It
// knows nothing of sockets: feed it the bytes the debugger sent and send
// back what it returns. It serves gdb and lldb; the two differ in details
// (see DESIGN.md), told apart by the client's qSupported.
//
// Ctrl-C while the target runs: resume() is synchronous and runs inside
// feed(). Give the server an input poll (a non-blocking read of the
// connection); the target calls ResumeRequest::interrupted() now and then,
// which pulls new bytes through the poll into the decoder and reports a
// 0x03 seen outside a packet. Bytes read this way are processed in order
// after the resume returns, so nothing the debugger sent is lost. A
// debugger that went away (the poll says the connection is closed) also
// stops the run: the session then ends instead of replaying on for no one.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "gdbserver/debug_target.h"
#include "gdbserver/rsp_codec.h"

namespace rrx {

class GdbServer {
 public:
  explicit GdbServer(DebugTarget* target);
  GdbServer(const GdbServer&) = delete;
  GdbServer& operator=(const GdbServer&) = delete;

  // Processes bytes from the debugger; returns the bytes to send to it.
  std::string feed(std::string_view bytes);

  // `read_available` returns what the debugger sent since the last read,
  // "" if nothing, without blocking; nullopt once the connection is closed.
  using InputPoll = std::function<std::optional<std::string>()>;
  void set_input_poll(InputPoll read_available) { input_poll_ = std::move(read_available); }

  // Writes bytes to the debugger at once, while a resume is running (for
  // progress in O packets); without it there is no progress.
  void set_immediate_output(std::function<void(const std::string&)> write) {
    immediate_output_ = std::move(write);
  }

  // The debugger detached, killed the session or went away: close the
  // connection.
  bool finished() const { return finished_; }

 private:
  void handle_packet(const std::string& payload);
  void send(std::string_view payload);
  void send_error(const std::string& message);

  void handle_query(const std::string& payload);
  void handle_qsupported(std::string_view features);
  void handle_xfer(std::string_view request);
  void handle_catch_syscalls(std::string_view args);
  void handle_run(std::string_view args);
  void handle_monitor(std::string_view hex_command);
  void handle_memory_region(std::string_view address);
  void handle_set_thread(std::string_view payload);
  void handle_read_registers(std::string_view args);
  void handle_write_registers(std::string_view args);
  void handle_read_register(std::string_view args);
  void handle_write_register(std::string_view args);
  bool refuse_lldb_register_write();
  void handle_read_memory(std::string_view args, bool binary);
  void handle_write_memory(std::string_view args, bool binary);
  void handle_breakpoint(std::string_view args, bool insert);
  void handle_vcont(std::string_view actions);
  void resume(ResumeRequest request);
  std::optional<ThreadId> reverse_thread(bool step);

  std::string stop_reply(const StopReason& stop);
  std::string thread_id(const ThreadId& thread) const;
  // Parses "pPID.TID", "TID", "0" (any) or "-1" (all); any/all give nullopt
  // in *thread. False if malformed.
  bool parse_thread_id(std::string_view text, std::optional<ThreadId>* thread);
  // The thread register packets act on: lldb's ";thread:" suffix, else Hg,
  // else the current thread. Strips the suffix from *args.
  ThreadId register_thread(std::string_view* args);
  bool interrupted();

  DebugTarget* target_;
  rsp::PacketDecoder decoder_;
  InputPoll input_poll_;
  std::function<void(const std::string&)> immediate_output_;
  std::string output_;
  std::string last_packet_;  // framed, for a resend after '-'
  bool ack_mode_ = true;
  bool finished_ = false;

  // What the client told us in qSupported and later Q packets.
  bool lldb_ = false;
  bool extended_ = false;  // `!`: gdb's extended-remote, which can run again
  bool multiprocess_ = false;
  bool client_swbreak_ = false;
  bool client_hwbreak_ = false;
  bool error_strings_ = false;       // lldb's QEnableErrorStrings
  bool threads_in_stop_ = false;     // lldb's QListThreadsInStopReply
  std::set<int> pass_signals_;       // QPassSignals
  bool catch_syscalls_ = false;      // QCatchSyscalls
  std::set<int> caught_syscalls_;    // its list; empty: all

  std::optional<ThreadId> general_thread_;   // Hg
  std::optional<ThreadId> continue_thread_;  // Hc
  // The thread to reverse-step once gdb has stepped another off a
  // breakpoint (see reverse_thread()).
  std::optional<ThreadId> selected_thread_;
  // Direction of plain c/s/vCont, flipped by lldb's plugin (QRRXDirection);
  // gdb uses bc/bs instead.
  Direction direction_ = Direction::kForward;
  std::optional<StopReason> last_stop_;
  bool last_stop_was_step_ = false;  // last_stop_ ended a single step
};

}  // namespace rrx
