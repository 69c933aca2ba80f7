// rrx spin-off: replays to a point, copies one process there into a
// process of its own left stopped (docs/spin-off.md), then replays on to
// the end.
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "replay/replay_target.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

int spin_off_command(const SpinOffArgs& args) {
  std::string trace = resolve_trace(args.trace);
  std::string error;
  {
    auto reader = TraceReader::open(trace, &error);
    if (!reader) return usage_error(error);
    // The rest of a cut-short recording is unknown: the copy could not be
    // told from a process the recording never had.
    if (reader->cut_short()) {
      return usage_error("spin-off: " + trace + " is not complete (the recording was cut short)");
    }
  }
  ReplayTargetOptions options{trace, args.process, args.event};
  auto target = ReplayTarget::create(options, &error);
  if (!target) return usage_error("spin-off: " + error);
  if (args.has_ticks) {
    std::string answer;
    if (!target->monitor("seek-ticks " + std::to_string(args.ticks), &answer)) {
      while (!answer.empty() && answer.back() == '\n') answer.pop_back();
      return usage_error("spin-off: " + (answer.rfind("rrx: ", 0) == 0 ? answer.substr(5) : answer));
    }
  }
  SpunOff state;
  if (!target->spin_off(args.live, true, &state, &error)) return usage_error("spin-off: " + error);
  std::string json = spin_off_json(state);
  if (!args.json_file.empty()) {
    std::ofstream out(args.json_file);
    out << json << "\n";
    if (!out.flush()) {
      fprintf(stderr, "rrx: spin-off: cannot write %s (process %d is left stopped)\n",
              args.json_file.c_str(), state.pid);
      return 1;
    }
  }
  printf("%d\n", state.pid);
  fflush(stdout);
  if (!target->finish(&error)) return usage_error(error);
  return 0;
}

}  // namespace rrx
