// rrx spin-off: replays to a point, copies one process there into a
// process of its own left stopped (docs/spin-off.md), then replays on to
// the end.
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "replay/replay_session.h"
#include "replay/replay_target.h"
#include "replay/spin_off.h"
#include "replay/trace_index.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

using Result = ReplaySession::StepResult;

// Replays to the first point from `event` on where the process's thread
// `pid` (its main thread) can be copied, and copies it. A plain session,
// not a debugger's target: no checkpoint is needed, so processes with
// several threads can be spun off too.
bool spin_off_at_event(ReplaySession& session, int32_t pid, uint64_t event, bool live,
                       SpunOff* state, std::string* error) {
  std::string why;
  for (;;) {
    if (session.current_event() >= event && session.has_task(pid) && session.set_focus(pid)) {
      if (session.focus_ready_to_copy(&why)) return spin_off(session, live, true, state, error);
      session.set_focus(0);
    }
    Result r = session.step();
    if (r == Result::kError) {
      *error = session.error();
      return false;
    }
    if (r != Result::kEvent) {
      *error = "process " + std::to_string(pid) + " cannot be copied at or after event " +
               std::to_string(event) + (why.empty() ? "" : " (" + why + ")");
      return false;
    }
  }
}

bool replay_to_end(ReplaySession& session, std::string* error) {
  session.set_focus(0);
  for (;;) {
    Result r = session.step();
    if (r == Result::kEnd) return true;
    if (r == Result::kError) {
      *error = session.error();
      return false;
    }
  }
}

}  // namespace

int spin_off_command(const SpinOffArgs& args) {
  std::string trace = resolve_trace(args.trace);
  std::string error;
  int32_t pid = 0;
  {
    auto reader = TraceReader::open(trace, &error);
    if (!reader) return usage_error(error);
    // The rest of a cut-short recording is unknown: the copy could not be
    // told from a process the recording never had.
    if (reader->cut_short()) {
      return usage_error("spin-off: " + trace + " is not complete (the recording was cut short)");
    }
    pid = args.process.empty() ? reader->header().root_tid : std::stoi(args.process);
  }
  // Reading the trace is much faster than replaying it to find out.
  error = check_trace_holds(trace, args.process, args.event);
  if (!error.empty()) return usage_error("spin-off: " + error);
  SpunOff state;
  std::unique_ptr<ReplayTarget> target;  // --ticks: the debugger's way there
  std::unique_ptr<ReplaySession> session;
  if (args.has_ticks) {
    ReplayTargetOptions options{trace, args.process, args.event};
    target = ReplayTarget::create(options, &error);
    if (!target) return usage_error("spin-off: " + error);
    std::string answer;
    if (!target->monitor("seek-ticks " + std::to_string(args.ticks), &answer)) {
      while (!answer.empty() && answer.back() == '\n') answer.pop_back();
      return usage_error("spin-off: " + (answer.rfind("rrx: ", 0) == 0 ? answer.substr(5) : answer));
    }
    if (!target->spin_off(args.live, true, &state, &error)) return usage_error("spin-off: " + error);
  } else {
    session = ReplaySession::start(trace, &error);
    if (!session) return usage_error("spin-off: " + error);
    session->set_echo_output(true, 2);  // stdout says the copy's pid
    if (!spin_off_at_event(*session, pid, args.event, args.live, &state, &error)) {
      return usage_error("spin-off: " + error);
    }
    if (state.event != args.event) {
      fprintf(stderr, "rrx: spin-off: process %d could be copied only from event %llu on\n",
              pid, static_cast<unsigned long long>(state.event));
    }
  }
  if (!args.json_file.empty()) {
    std::ofstream out(args.json_file);
    out << spin_off_json(state) << "\n";
    if (!out.flush()) {
      fprintf(stderr, "rrx: spin-off: cannot write %s (process %d is left stopped)\n",
              args.json_file.c_str(), state.pid);
      return 1;
    }
  }
  printf("%d\n", state.pid);
  fflush(stdout);
  bool finished = target ? target->finish(&error) : replay_to_end(*session, &error);
  if (!finished) return usage_error(error);
  return 0;
}

}  // namespace rrx
