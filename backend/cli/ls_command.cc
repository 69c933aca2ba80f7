#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "core/printable.h"
#include "trace/layout.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"
#include "trace/trace_usage.h"

namespace rrx {

namespace {

struct Listed {
  std::string name, path, program, state, date;
  uint64_t bytes = 0;
  bool latest = false;
  bool packed = false;
};

// When recording started: the version file is written first.
std::string start_time(const std::string& dir) {
  struct stat st;
  if (stat((dir + "/" + layout::kVersion).c_str(), &st) != 0) return "";
  char text[32];
  struct tm local;
  localtime_r(&st.st_mtime, &local);
  strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

Listed describe(const std::string& root, const std::string& name, const std::string& latest) {
  Listed t;
  t.name = name;
  t.path = root + "/" + name;
  t.latest = t.path == latest;
  t.date = start_time(t.path);
  std::string error;
  auto reader = TraceReader::open(t.path, &error);
  if (!reader) {
    t.state = "damaged";
  } else {
    t.state = reader->cut_short() ? "cut short" : "complete";
    if (!reader->header().argv.empty()) t.program = reader->header().argv[0];
  }
  TraceUsage usage;
  if (measure_trace(t.path, &usage, &error)) {
    t.bytes = usage.total_bytes;
    t.packed = usage.linked_outside == 0;
  }
  return t;
}

std::string human_size(uint64_t bytes) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = bytes;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char text[32];
  snprintf(text, sizeof text, u ? "%.1f%s" : "%.0f%s", v, units[u]);
  return text;
}

}  // namespace

int ls_command(const LsArgs& args) {
  std::string root = default_trace_root();
  std::vector<std::string> names;
  if (DIR* d = opendir(root.c_str())) {
    while (dirent* entry = readdir(d)) {
      std::string name = entry->d_name;
      struct stat st;
      std::string path = root + "/" + name;
      if (name[0] == '.' || lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (is_trace_dir(path)) names.push_back(name);
    }
    closedir(d);
  } else if (errno != ENOENT) {
    return usage_error("ls: cannot read " + root + ": " + strerror(errno));
  }
  std::sort(names.begin(), names.end());
  std::string latest = latest_trace(root);
  std::vector<Listed> traces;
  for (const std::string& name : names) traces.push_back(describe(root, name, latest));

  if (args.json) {
    for (const Listed& t : traces) {
      print_json_line({{"name", t.name}, {"path", t.path}, {"program", t.program},
                       {"date", t.date}, {"bytes", t.bytes}, {"state", t.state},
                       {"packed", t.packed}, {"latest", t.latest}});
    }
    return 0;
  }
  if (traces.empty()) {
    fprintf(stderr, "rrx: no traces in %s\n", printable(root).c_str());
    return 0;
  }
  printf("%-24s %-19s %7s  %-9s %s\n", "NAME", "DATE", "SIZE", "STATE", "PROGRAM");
  for (const Listed& t : traces) {
    std::string name = (t.latest ? "*" : "") + t.name;
    printf("%-24s %-19s %7s  %-9s %s\n", printable(name).c_str(), t.date.c_str(),
           human_size(t.bytes).c_str(), t.state.c_str(), printable(t.program).c_str());
  }
  return 0;
}

}  // namespace rrx
