#include "replay/trace_index.h"

#include <set>

#include "replay/program_names.h"
#include "trace/trace_reader.h"

namespace rrx {

std::string check_trace_holds(const std::string& trace_dir, const std::string& process,
                              uint64_t start_event) {
  std::string error;
  auto reader = TraceReader::open(trace_dir, &error);
  if (!reader) return error;
  bool by_pid = !process.empty() && process.find_first_not_of("0123456789") == std::string::npos;
  int32_t pid = by_pid ? static_cast<int32_t>(std::stoul(process)) : 0;
  bool found = process.empty() || pid == reader->header().root_tid;
  std::set<std::string> programs;  // for the message when not found
  uint64_t last_event = 0;
  Event e;
  while (reader->next(&e, &error)) {
    last_event = e.seq;
    if (found) continue;
    if (by_pid) {
      found = e.kind == EventKind::kNewTask && e.new_tid == pid;
    } else if (e.kind == EventKind::kExec) {
      MemWrite stack = e.writes.empty() ? MemWrite{} : e.writes.front();
      found = names_program(process, e.exe_saved_name, stack);
      programs.insert(program_of_saved(e.exe_saved_name));
      std::string argv0 = argv0_of(stack);
      if (!argv0.empty()) programs.insert(argv0.substr(argv0.rfind('/') + 1));
    }
  }
  // A damaged stream is the replay's to report, where it is met.
  if (!found) {
    std::string what = "process '" + process + "' does not appear in " + trace_dir;
    if (by_pid) return what;
    std::string names;
    for (const std::string& p : programs) names += (names.empty() ? "" : ", ") + p;
    return what + (names.empty() ? "" : " (its programs: " + names + ")");
  }
  if (start_event > last_event) {
    return "event " + std::to_string(start_event) + " is past the end of " + trace_dir +
           " (its last event is " + std::to_string(last_event) + ")";
  }
  return "";
}

uint64_t last_trace_event(const std::string& trace_dir) {
  std::string error;
  auto reader = TraceReader::open(trace_dir, &error);
  if (!reader) return 0;
  if (reader->summary().event_count) return reader->summary().event_count;
  uint64_t last = 0;
  for (Event e; reader->next(&e, &error);) last = e.seq;
  return last;
}

}  // namespace rrx
