#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/commands.h"
#include "cli/debugger_launch.h"
#include "cli/socket_cleanup.h"
#include "core/printable.h"
#include "gdbserver/server_transport.h"
#include "replay/replay_session.h"
#include "replay/replay_target.h"
#include "trace/trace_dir.h"

namespace rrx {

namespace {

constexpr char kReplayUsage[] =
    "replay [-a | --serve | -s PORT | --stdio | --info-exe] [-p PID|NAME] [-g EVENT] "
    "[-d DEBUGGER] [TRACE]";

struct ReplayArgs {
  enum class Mode { kDebugger, kAutopilot, kServeUnix, kServeTcp, kStdio, kInfoExe } mode =
      Mode::kDebugger;
  uint16_t port = 0;
  std::string trace;
  std::string process;
  uint64_t start_event = 0;
  std::string debugger = "gdb";
};

bool parse_number(const std::string& text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  unsigned long long v = strtoull(text.c_str(), nullptr, 10);
  if (errno || v > max) return false;
  *out = v;
  return true;
}

// Returns "" on success, else the error.
std::string parse(const std::vector<std::string>& args, ReplayArgs* out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= args.size()) return false;
      *v = args[++i];
      return true;
    };
    std::string v;
    if (a == "-a" || a == "--autopilot") {
      out->mode = ReplayArgs::Mode::kAutopilot;
    } else if (a == "--serve") {
      out->mode = ReplayArgs::Mode::kServeUnix;
    } else if (a == "--stdio") {
      out->mode = ReplayArgs::Mode::kStdio;
    } else if (a == "--info-exe") {
      out->mode = ReplayArgs::Mode::kInfoExe;
    } else if (a == "-s" || a == "--dbgport") {
      uint64_t port;
      if (!value(&v) || !parse_number(v, 65535, &port) || port == 0) {
        return "replay: -s needs a port number (1-65535)";
      }
      out->port = static_cast<uint16_t>(port);
      out->mode = ReplayArgs::Mode::kServeTcp;
    } else if (a == "-p") {
      if (!value(&out->process)) return "replay: -p needs a pid or program name";
    } else if (a == "-g") {
      if (!value(&v) || !parse_number(v, UINT64_MAX, &out->start_event)) {
        return "replay: -g needs an event number";
      }
    } else if (a == "-d") {
      if (!value(&out->debugger)) return "replay: -d needs a debugger";
    } else if (!a.empty() && a[0] == '-') {
      return "replay: unknown option '" + a + "' (usage: rrx " + kReplayUsage + ")";
    } else if (out->trace.empty()) {
      out->trace = a;
    } else {
      return "replay: more than one trace given";
    }
  }
  return "";
}

int autopilot(const std::string& trace) {
  std::string error;
  auto session = ReplaySession::start(trace, &error);
  if (!session) return usage_error(error);
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
  if (!transport->serve_one(target.get(), &error)) return usage_error(transport_error(error));
  return 0;
}

}  // namespace

int replay_command(const std::vector<std::string>& raw_args) {
  ReplayArgs args;
  std::string error = parse(raw_args, &args);
  if (!error.empty()) return usage_error(error);
  std::string trace = resolve_trace(args.trace);
  switch (args.mode) {
    case ReplayArgs::Mode::kAutopilot:
      return autopilot(trace);
    case ReplayArgs::Mode::kDebugger: {
      DebuggerLaunch launch{args.debugger, trace, args.process, args.start_event};
      return launch_debugger(launch);
    }
    default:
      return serve(args, trace);
  }
}

}  // namespace rrx
