// rrx's command line, defined once (with CLI11): parsing, every command's
// --help, `rrx help CMD`, `rrx --version`, the man page (man_page.cc) and
// the bash completion (bash_completion.cc) all come from this definition.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/commands.h"

namespace rrx {

// Where the parsed values of every command land.
struct CommandLine {
  RecordArgs record;
  ReplayArgs replay;
  DumpArgs dump;
  SpinOffArgs spin_off;
  TraceQueryArgs query;   // ps, sources
  LsArgs ls;
  MvArgs mv;
  std::string trace;      // rm, traceinfo, pack
  std::string help_topic; // help
  std::string generate;   // generate (hidden): man | bash-completion
};

// The whole definition, its options bound to *values.
std::unique_ptr<CLI::App> define_command_line(CommandLine* values);

// "rrx record [OPTIONS] PROGRAM [ARGS...]": how `sub` is invoked.
std::string synopsis(const CLI::App& sub);

// Whether `sub` takes a TRACE argument (the completion offers trace names).
bool takes_trace(const CLI::App& sub);

// Parses argv and runs the command it names; returns the exit status
// (2 for a bad command line, with one "rrx: ..." line on stderr).
int run_command_line(int argc, char** argv);

// The generated texts (rrx generate man | bash-completion).
std::string man_page(const CLI::App& app);
std::string bash_completion(const CLI::App& app);

}  // namespace rrx
