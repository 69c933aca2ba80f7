#include <unistd.h>

#include <cstdio>
#include <set>

#include "cli/commands.h"
#include "cli/dwarf_sources.h"
#include "cli/json_output.h"
#include "core/printable.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

bool is_elf(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[4] = {};
  bool elf = fread(magic, 1, 4, f) == 4 && magic[0] == 0x7f && magic[1] == 'E' &&
             magic[2] == 'L' && magic[3] == 'F';
  fclose(f);
  return elf;
}

}  // namespace

int sources_command(const TraceQueryArgs& args) {
  std::string error;
  auto reader = TraceReader::open(resolve_trace(args.trace), &error);
  if (!reader) return usage_error(error);
  // The recorded binaries: the executables and libraries saved in the trace.
  std::set<std::string> all;
  for (const SavedFileInfo& saved : reader->saved_files()) {
    std::string path = reader->saved_file_path(saved.name, &error);
    if (path.empty()) return usage_error(error);
    if (!is_elf(path)) continue;
    std::set<std::string> sources;
    if (!dwarf_source_files(path, &sources)) continue;
    if (args.json) {
      Json files = Json::array();
      for (const std::string& s : sources) {
        files.push_back({{"path", s}, {"exists", access(s.c_str(), R_OK) == 0}});
      }
      print_json_line({{"binary", saved.original_path}, {"sources", files}});
    }
    all.insert(sources.begin(), sources.end());
  }
  // The text form is for archiving and IDEs: the files there are to read.
  if (!args.json) {
    for (const std::string& s : all) {
      if (access(s.c_str(), R_OK) == 0) printf("%s\n", printable(s).c_str());
    }
  }
  return 0;
}

}  // namespace rrx
