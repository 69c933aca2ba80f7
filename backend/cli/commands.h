// The rrx subcommands and the values their options parse into. Each command
// returns the process exit status; runtime errors print one "rrx: ..."
// line (usage_error) and return 1. The options themselves are defined once,
// in command_line.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rrx {

struct RecordArgs {
  std::string out_dir;          // -o
  bool unbound = false;         // -u
  bool no_buffer = false;       // -n
  bool chaos = false;           // --chaos
  bool wait_all = false;        // -w, --wait-all
  bool quiet = false;           // -q
  bool no_pack = false;         // --no-pack
  uint64_t slice_ticks = 0;     // -c; 0: the recorder's default
  std::string ticks = "auto";   // --ticks, -W
  std::vector<std::string> env; // --env NAME=VALUE
  std::vector<std::string> argv;
};

struct ReplayArgs {
  enum class Mode { kDebugger, kAutopilot, kServeUnix, kServeTcp, kStdio, kInfoExe };
  Mode mode = Mode::kDebugger;
  uint16_t port = 0;
  std::string trace;
  std::string process;
  uint64_t start_event = 0;
  std::string debugger = "gdb";
  bool mark_stdio = false;  // -M
  bool keep_listening = false;  // -k: serve one debugger after another
  // For the debugger rrx starts: -e runs to the end of the recording first;
  // passed on: -x FILE (a gdb script, lldb -s),
  // --fullname, -i/--interpreter (gdb), and every word after "--".
  std::string script;
  bool goto_exit = false;  // -e
  bool fullname = false;
  std::string interpreter;
  std::vector<std::string> debugger_args;
};

// Events FROM..TO (inclusive) of `rrx dump -e`.
struct EventRange {
  uint64_t from = 0;
  uint64_t to = UINT64_MAX;
};

struct DumpArgs {
  std::string trace;
  EventRange range;
  bool json = false;
};

// Commands that read one trace and may print JSON (ps, sources).
struct TraceQueryArgs {
  std::string trace;
  bool json = false;
};

struct SpinOffArgs {
  std::string trace;
  std::string process;     // -p: recorded pid (default: the first process)
  uint64_t event = 0;      // -g
  bool has_ticks = false;  // --ticks: then on to this tick count
  uint64_t ticks = 0;
  bool live = false;       // --live
  std::string json_file;   // --json
};

struct LsArgs {
  bool json = false;
};

struct MvArgs {
  std::string from, to;
};

int record_command(const RecordArgs& args);
int replay_command(const ReplayArgs& args);
// Prints the events of a trace, one line (or JSON object) each.
int dump_command(const DumpArgs& args);
int ls_command(const LsArgs& args);
int rm_command(const std::string& trace);
int mv_command(const MvArgs& args);
int ps_command(const TraceQueryArgs& args);
int traceinfo_command(const std::string& trace);
int pack_command(const std::string& trace);
int sources_command(const TraceQueryArgs& args);
int spin_off_command(const SpinOffArgs& args);

enum class DebuggerKind { kGdb, kLldb };
// Prints the init-file line that loads our plugin into that debugger.
int print_init_line(DebuggerKind kind);

// Prints "rrx: <message>" on stderr; returns the exit status for errors.
int usage_error(const std::string& message);

}  // namespace rrx
