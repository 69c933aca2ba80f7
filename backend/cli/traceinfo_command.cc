#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"
#include "trace/trace_usage.h"

namespace rrx {

int traceinfo_command(const std::string& arg) {
  std::string error;
  auto reader = TraceReader::open(resolve_trace(arg), &error);
  if (!reader) return usage_error(error);
  TraceUsage usage;
  if (!measure_trace(reader->dir(), &usage, &error)) return usage_error(error);
  // A trace cut short has no summary: its events are counted.
  uint64_t events = reader->summary().event_count;
  if (reader->cut_short()) {
    Event e;
    while (reader->next(&e, &error)) events = e.seq;
    if (!error.empty()) return usage_error(error);
  }
  const TraceHeader& h = reader->header();
  Json info = {
      {"trace", reader->dir()},
      {"format_version", h.version},
      {"argv", h.argv},
      {"cwd", h.cwd},
      {"root_pid", h.root_tid},
      {"ticks", h.ticks},
      {"syscall_buffer", h.syscall_buffer},
      {"cpu",
       {{"signature", h.cpu_signature},
        {"bound_cpu", h.bound_cpu},
        {"cpuid_faulting", h.cpuid_faulting}}},
      {"complete", !reader->cut_short()},
      {"events", events},
  };
  if (!h.tick_microarch.empty()) info["cpu"]["tick_microarch"] = h.tick_microarch;
  if (!reader->cut_short()) {
    int status = reader->summary().exit_status;
    Json end = Json::object();
    if (WIFSIGNALED(status)) {
      const char* name = sigabbrev_np(WTERMSIG(status));
      end["signal"] = name ? std::string("SIG") + name : std::to_string(WTERMSIG(status));
    } else {
      end["exit"] = WEXITSTATUS(status);
    }
    if (int sig = reader->summary().ended_by_signal) {
      const char* name = sigabbrev_np(sig);
      end["ended_by"] = name ? std::string("SIG") + name : std::to_string(sig);
    }
    info["end"] = end;
  }
  info["bytes"] = {{"events", usage.events_bytes},
                   {"files", usage.files_bytes},
                   {"total", usage.total_bytes}};
  info["saved_files"] = usage.saved_files;
  info["packed"] = usage.linked_outside == 0;
  print_json_document(info);
  return 0;
}

}  // namespace rrx
