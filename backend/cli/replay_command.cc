#include "cli/commands.h"
#include "replay/replay_session.h"
#include "trace/trace_dir.h"

namespace rrx {

int replay_command(const std::vector<std::string>& args) {
  bool autopilot = false;
  std::string trace;
  for (const std::string& arg : args) {
    if (arg == "-a" || arg == "--autopilot") {
      autopilot = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("replay: unknown option '" + arg + "'");
    } else if (trace.empty()) {
      trace = arg;
    } else {
      return usage_error("replay: more than one trace given");
    }
  }
  if (!autopilot) {
    return usage_error("replay: only -a (replay without a debugger) is available so far");
  }
  std::string error;
  auto session = ReplaySession::start(resolve_trace(trace), &error);
  if (!session) return usage_error(error);
  ReplaySession::StepResult result;
  while ((result = session->step()) == ReplaySession::StepResult::kEvent) {
  }
  if (result != ReplaySession::StepResult::kEnd) return usage_error(session->error());
  return 0;
}

}  // namespace rrx
