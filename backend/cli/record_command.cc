#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cinttypes>

#include "cli/commands.h"
#include "cli/debugger_launch.h"
#include "core/hw_tick_check.h"
#include "core/hw_tick_source.h"
#include "core/printable.h"
#include "core/spawn.h"
#include "record/record_session.h"
#include "trace/trace_dir.h"
#include "trace/trace_packer.h"
#include "trace/trace_reader.h"
#include "trace/trace_usage.h"

namespace rrx {

namespace {

// --ticks as the recorder takes it: auto is hw where the counter passes
// the start-up self-check (core/hw_tick_check.h), soft elsewhere (said on
// a terminal). "" and *error when hw was asked for and cannot be had.
std::string tick_source(const std::string& asked, bool quiet, std::string* error) {
  if (asked != "auto" && asked != "hw") return asked;
  HwTickCheck check = check_hw_ticks();
  if (check.verdict.usable) return "hw";
  if (asked == "hw") {
    *error = "record: --ticks=hw: " + check.verdict.refusal + "; use --ticks=soft";
    return "";
  }
  if (!quiet && isatty(STDERR_FILENO)) {
    fprintf(stderr, "rrx: soft ticks (no hardware ticks: %s)\n",
            printable(check.verdict.refusal).c_str());
  }
  return "soft";
}

// A trace whose files hardlinked to their originals come to at most this
// much is packed right away: it then survives changes to those files.
constexpr uint64_t kPackAtOnceBytes = uint64_t{16} << 20;

// Packs the trace if that is cheap; otherwise says (to a user watching, not
// into a captured stderr the program shares) that it is not packed.
void pack_if_small(const std::string& dir, bool quiet) {
  std::string error;
  TraceUsage usage;
  if (!measure_trace(dir, &usage, &error) || usage.linked_outside == 0) return;
  if (usage.linked_outside_bytes <= kPackAtOnceBytes) {
    auto reader = TraceReader::open(dir, &error);
    PackResult packed;
    if (reader && pack_trace(dir, reader->saved_files(), &packed, &error)) return;
    fprintf(stderr, "rrx: warning: could not pack %s: %s\n", printable(dir).c_str(),
            printable(error).c_str());
  } else if (!quiet && isatty(STDERR_FILENO)) {
    fprintf(stderr,
            "rrx: the trace is not packed: %" PRIu64 " MiB of it are hardlinks to the "
            "originals; 'rrx pack %s' copies them in\n",
            usage.linked_outside_bytes >> 20, printable(dir).c_str());
  }
}

}  // namespace

int record_command(const RecordArgs& args) {
  RecordOptions options;
  std::string error;
  options.ticks = tick_source(args.ticks, args.quiet, &error);
  if (options.ticks.empty()) return usage_error(error);
  options.chaos = args.chaos;
  options.wait_all = args.wait_all;
  options.unbound = args.unbound;
  if (args.slice_ticks) options.slice_ticks = args.slice_ticks;
  options.trace_dir = args.out_dir;
  // Hardware ticks count every branch, and the buffering engine's take
  // other paths in replay: no in-process buffering with them.
  options.buffer_syscalls = !args.no_buffer && !is_hw_tick_source(options.ticks);
  options.argv = args.argv;

  std::string root;
  if (options.trace_dir.empty()) {
    root = default_trace_root();
    options.trace_dir = next_trace_dir(root, options.argv[0], &error);
    if (options.trace_dir.empty()) return usage_error(error);
  }
  if (!args.quiet) {
    // Once the program runs: a program that cannot start leaves no trace.
    options.on_started = [&options] {
      fprintf(stderr, "rrx: saving to %s\n", printable(options.trace_dir).c_str());
    };
  }
  // Ctrl-C reaches the program too (it starts with the dispositions we
  // were started with); let it decide, and finish the trace.
  options.ignored_signals = ignored_signals_now();
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);

  // The program inherits our environment (the trace keeps the one it saw);
  // set last, so that rrx itself is not steered by it (RRX_TRACE_DIR).
  for (const std::string& assignment : args.env) {
    size_t eq = assignment.find('=');
    setenv(assignment.substr(0, eq).c_str(), assignment.substr(eq + 1).c_str(), 1);
  }
  RecordResult result = record(options);
  if (!result.ok) return usage_error(result.error);
  if (!args.no_pack) pack_if_small(options.trace_dir, args.quiet);
  if (!root.empty() && !update_latest_trace(root, options.trace_dir, &error)) {
    fprintf(stderr, "rrx: warning: %s\n", error.c_str());
  }
  int status = result.wait_status;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace rrx
