#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/debugger_launch.h"
#include "cli/marked_output.h"
#include "cli/socket_cleanup.h"
#include "core/printable.h"
#include "gdbserver/server_transport.h"
#include "replay/replay_session.h"
#include "replay/replay_target.h"
#include "trace/trace_dir.h"

namespace rrx {

namespace {

int autopilot(const std::string& trace, bool mark_stdio) {
  std::string error;
  auto session = ReplaySession::start(trace, &error);
  if (!session) return usage_error(error);
  MarkedOutput marked;
  if (mark_stdio) {
    session->set_output_sink([&marked](int fd, uint64_t event, const std::string& data) {
      marked.write(fd, event, data);
    });
  }
  ReplaySession::StepResult result;
  while ((result = session->step()) == ReplaySession::StepResult::kEvent) {
  }
  if (result != ReplaySession::StepResult::kEnd) return usage_error(session->error());
  std::string early = session->early_end();
  if (!early.empty()) fprintf(stderr, "rrx: %s\n", printable(early).c_str());
  return 0;
}

// ServerTransport's errors start with "rrx: " already.
std::string transport_error(const std::string& error) {
  return error.rfind("rrx: ", 0) == 0 ? error.substr(5) : error;
}

int serve(const ReplayArgs& args, const std::string& trace) {
  std::string error;
  // Listen first: a port in use should fail before any replay work.
  std::unique_ptr<ServerTransport> transport;
  if (args.mode == ReplayArgs::Mode::kServeTcp || args.mode == ReplayArgs::Mode::kServeUnix) {
    transport = args.mode == ReplayArgs::Mode::kServeTcp ? ServerTransport::listen_tcp(args.port, &error)
                                                         : ServerTransport::listen_unix(&error);
    if (!transport) return usage_error(transport_error(error));
    if (args.mode == ReplayArgs::Mode::kServeUnix) remove_socket_on_fatal_signals(transport->address());
  }
  ReplayTargetOptions options{trace, args.process, args.start_event};
  auto target = ReplayTarget::create(options, &error);
  if (!target) return usage_error(error);
  if (args.mode == ReplayArgs::Mode::kInfoExe) {
    printf("%s\n", target->exe_path().c_str());
    return 0;
  }
  if (args.mode == ReplayArgs::Mode::kStdio) {
    if (!serve_stdio(target.get(), &error)) return usage_error(transport_error(error));
    return 0;
  }
  const char* scheme = args.mode == ReplayArgs::Mode::kServeTcp ? "" : "unix:";
  printf("rrx: serving %s on %s%s\n", trace.c_str(), scheme, transport->address().c_str());
  fflush(stdout);
  for (;;) {
    if (!transport->serve_one(target.get(), &error)) return usage_error(transport_error(error));
    if (!args.keep_listening) return 0;
    // The next debugger starts from the beginning, as the first one did.
    target = ReplayTarget::create(options, &error);
    if (!target) return usage_error(error);
  }
}

}  // namespace

int replay_command(const ReplayArgs& args) {
  bool serving = args.mode == ReplayArgs::Mode::kServeTcp || args.mode == ReplayArgs::Mode::kServeUnix;
  if (args.keep_listening && !serving) {
    fprintf(stderr, "rrx: replay: -k keeps serving with --serve or -s only\n");
    return 2;
  }
  if (!args.debugger_args.empty() && args.mode != ReplayArgs::Mode::kDebugger) {
    fprintf(stderr, "rrx: replay: words after '--' are for the debugger rrx starts\n");
    return 2;
  }
  std::string trace = resolve_trace(args.trace);
  switch (args.mode) {
    case ReplayArgs::Mode::kAutopilot:
      return autopilot(trace, args.mark_stdio);
    case ReplayArgs::Mode::kDebugger: {
      DebuggerLaunch launch{args.debugger,    trace,          args.process,
                            args.start_event, args.goto_exit, args.script,
                            args.fullname,    args.interpreter, args.debugger_args};
      return launch_debugger(launch);
    }
    default:
      return serve(args, trace);
  }
}

}  // namespace rrx
