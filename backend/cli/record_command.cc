#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/debugger_launch.h"
#include "core/pmu.h"
#include "core/spawn.h"
#include "record/record_session.h"
#include "trace/trace_dir.h"

namespace rrx {

int record_command(const std::vector<std::string>& args) {
  RecordOptions options;
  bool buffer_syscalls = true;
  size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    if (args[i] == "--") {
      ++i;
      break;
    }
    if (args[i] == "-o") {
      if (i + 1 == args.size()) return usage_error("record: -o needs a directory for the trace");
      options.trace_dir = args[++i];
    } else if (args[i] == "--wait-all" || args[i] == "-w") {
      options.wait_all = true;
    } else if (args[i] == "--chaos") {
      options.chaos = true;
    } else if (args[i] == "-u") {
      options.unbound = true;
    } else if (args[i] == "-n") {
      buffer_syscalls = false;
    } else if (args[i] == "-c" || args[i].rfind("--num-cpu-ticks=", 0) == 0) {
      std::string value;
      if (args[i] == "-c") {
        if (i + 1 == args.size()) return usage_error("record: -c needs a number of ticks");
        value = args[++i];
      } else {
        value = args[i].substr(16);
      }
      char* end = nullptr;
      unsigned long long ticks = strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || ticks == 0 || value[0] == '-') {
        return usage_error("record: time slice '" + value + "' is not a positive number of ticks");
      }
      options.slice_ticks = ticks;
    } else if (args[i] == "-W") {
      options.ticks = "soft";
    } else if (args[i].rfind("--ticks=", 0) == 0) {
      std::string source = args[i].substr(8);
      if (source == "auto") source = "soft";
      if (source == "hw") {
        std::string why;
        if (!hardware_branch_counter_available(&why)) {
          return usage_error("record: --ticks=hw: no usable hardware branch counter on "
                             "this machine: " + why + "; use --ticks=soft");
        }
        return usage_error("record: --ticks=hw: the hardware branch counter works here, "
                           "but the recorder does not use it yet; use --ticks=soft");
      }
      if (source != "soft" && source != "static" && source != "none") {
        return usage_error("record: unknown tick source '" + source +
                           "' (use auto, hw, soft, static or none)");
      }
      options.ticks = source;
    } else {
      return usage_error("record: unknown option '" + args[i] + "'");
    }
  }
  if (i == args.size()) return usage_error("record: no program given");
  if (buffer_syscalls) {
    options.preload = preload_library_path();
    if (access(options.preload.c_str(), R_OK) != 0) {
      return usage_error("record: cannot find " + options.preload +
                         " (syscall buffering); record with -n to go without");
    }
  }
  options.argv.assign(args.begin() + i, args.end());

  std::string root, error;
  if (options.trace_dir.empty()) {
    root = default_trace_root();
    options.trace_dir = next_trace_dir(root, options.argv[0], &error);
    if (options.trace_dir.empty()) return usage_error(error);
  }
  // Ctrl-C reaches the program too (it starts with the dispositions we
  // were started with); let it decide, and finish the trace.
  options.ignored_signals = ignored_signals_now();
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);

  RecordResult result = record(options);
  if (!result.ok) return usage_error(result.error);
  if (!root.empty() && !update_latest_trace(root, options.trace_dir, &error)) {
    fprintf(stderr, "rrx: warning: %s\n", error.c_str());
  }
  int status = result.wait_status;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace rrx
