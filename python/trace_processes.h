// The processes of a trace, from its events: who started whom, what each
// ran last, how it ended.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace rrx {

class TraceReader;

struct ProcessInfo {
  pid_t pid = 0;   // recorded pid (the tid of its first thread)
  pid_t ppid = 0;  // 0 for the first process
  std::string exe;                // path it exec'd last, as given to execve
  std::vector<std::string> argv;  // that exec's arguments
  // Wait status of its exit (as waitpid), nullopt if it did not end
  // within the recording.
  std::optional<int> wait_status;
};

// Reads every event of `reader` (from where it is). False + *error if the
// event stream is damaged.
bool read_processes(TraceReader& reader, std::vector<ProcessInfo>* processes, std::string* error);

}  // namespace rrx
