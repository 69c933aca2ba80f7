#include "cli/command_line.h"

#include <cstdio>
#include <cstring>
#include <regex>

#include "core/printable.h"

#ifndef RRX_VERSION
#error "RRX_VERSION is set by backend/cli/CMakeLists.txt from the project version"
#endif

namespace rrx {

namespace {

constexpr char kTraceHelp[] =
    "trace directory or name in the trace root (default: the latest recording)";

class Formatter : public CLI::Formatter {
 public:
  // `rrx record` takes the program after its options: the usage says so.
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, name);
    if (app->get_prefix_command()) usage.insert(usage.size() - 1, " PROGRAM [ARGS...]");
    return usage;
  }
  // The value an option takes, without CLI11's lists of the options it
  // excludes or needs (the descriptions say what goes with what).
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string type = opt->get_type_size() == 0 ? "" : opt->get_type_name();
    return type.empty() ? "" : " " + type;
  }
};

// Decimal digits only (CLI11's own conversion would also take "0x10",
// "1e3" or "-1"), at most 19 of them (always fits 64 bits).
bool number(const std::string& text, uint64_t* value) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *value = std::stoull(text);
  return true;
}

// "N", "N-M", "N-" or "-M": events N to M, inclusive.
std::string parse_range(const std::string& text, EventRange* out) {
  size_t dash = text.find('-');
  EventRange r;
  bool ok;
  if (dash == std::string::npos) {
    ok = number(text, &r.from);
    r.to = r.from;
  } else {
    std::string from = text.substr(0, dash), to = text.substr(dash + 1);
    ok = (from.empty() || number(from, &r.from)) && (to.empty() || number(to, &r.to)) &&
         !(from.empty() && to.empty()) && r.from <= r.to;
  }
  if (!ok) return "'" + text + "' is not an event range (N, FROM-TO, FROM- or -TO)";
  *out = r;
  return "";
}

// A number(), and a positive one when `positive`.
CLI::Validator whole_number(bool positive) {
  return CLI::Validator(
      [positive](std::string& text) -> std::string {
        uint64_t value;
        if (!number(text, &value) || (positive && value == 0)) {
          return "'" + text + "' is not a " + (positive ? "positive " : "") + "whole number";
        }
        return "";
      },
      "");
}

void add_trace(CLI::App* sub, std::string* trace) {
  sub->add_option("TRACE", *trace, kTraceHelp)->type_name("");
}

void define_record(CLI::App* sub, CommandLine* v) {
  RecordArgs& a = v->record;
  sub->prefix_command();  // PROGRAM's own options are its own
  sub->add_option("-o,--output-trace-dir", a.out_dir,
                  "write the trace to DIR (a new or empty directory) instead of the trace root")
      ->type_name("DIR");
  auto* ticks = sub->add_option("--ticks", a.ticks,
                                "tick source: soft (dynamic: patch every program's branches), "
                                "static (only code built with the GCC plugin), none, "
                                "hw (the CPU's branch counter; no syscall buffering), auto (hw "
                                "where the counter passes a self-check, else soft); hw-sim is "
                                "for rrx's tests only (hw's logic over a simulated counter)")
                    ->type_name("SOURCE")
                    ->check(CLI::IsMember({"auto", "hw", "soft", "static", "none", "hw-sim"}));
  sub->add_flag_callback("-W", [&a] { a.ticks = "soft"; }, "same as --ticks=soft (rr's flag)")
      ->excludes(ticks);
  sub->add_option("-c,--num-cpu-ticks", a.slice_ticks,
                  "time slice: soft ticks a thread runs before another may (default 200000)")
      ->type_name("TICKS")
      ->check(whole_number(true));
  sub->add_flag("--chaos", a.chaos, "random short time slices and thread order, to show races");
  sub->add_flag("-w,--wait-all", a.wait_all,
                "record until every process has ended (by default recording ends with the "
                "initial process; processes it left running are killed)");
  sub->add_flag("-u,--unbound", a.unbound, "do not pin the recording to one CPU (slower)");
  sub->add_flag("-n,--no-syscall-buffer", a.no_buffer,
                "trace every syscall (no in-process syscall buffering)");
  sub->add_option("--env", a.env, "set NAME to VALUE in the recorded program's environment (repeatable)")
      ->type_name("NAME=VALUE")
      ->check([](const std::string& s) {
        size_t eq = s.find('=');
        return eq == std::string::npos || eq == 0 ? "--env wants NAME=VALUE, not '" + s + "'"
                                                  : std::string();
      });
  sub->add_flag("-q,--quiet", a.quiet, "do not say where the trace is saved");
  sub->add_flag("--no-pack", a.no_pack,
                "leave system files the trace uses hardlinked, even in a small trace "
                "(smaller; the trace breaks if they change in place)");
}

void define_replay(CLI::App* sub, CommandLine* v) {
  ReplayArgs& a = v->replay;
  using Mode = ReplayArgs::Mode;
  std::vector<CLI::Option*> modes = {
      sub->add_flag_callback("-a,--autopilot", [&a] { a.mode = Mode::kAutopilot; },
                             "replay without a debugger; exit 0 if the replay was faithful"),

      sub->add_option_function<uint16_t>(
             "-s,--dbgport",
             [&a](const uint16_t& port) {
               a.port = port;
               a.mode = Mode::kServeTcp;
             },
             "serve the replay on 127.0.0.1:PORT (for IDEs)")
          ->type_name("PORT")
          ->check(CLI::Range(1, 65535)),
      sub->add_flag_callback("--stdio", [&a] { a.mode = Mode::kStdio; },
                             "speak the gdb remote protocol on stdin/stdout"),
      sub->add_flag_callback("--info-exe", [&a] { a.mode = Mode::kInfoExe; },
                             "print the path of the replayed executable (for debugger plugins)"),
  };
  for (CLI::Option* m : modes) {
    for (CLI::Option* other : modes) {
      if (m != other) m->excludes(other);
    }
  }
  // `--serve -s PORT` (what debugger plugins run) serves on the port.
  CLI::Option* serve =
      sub->add_flag_callback("--serve", [&a] {
        if (a.mode != Mode::kServeTcp) a.mode = Mode::kServeUnix;
      }, "serve the replay to a debugger on a private Unix socket (with -s: on PORT)");
  for (CLI::Option* m : modes) {
    if (m->get_name() != "--dbgport") serve->excludes(m);
  }
  sub->add_flag("-M,--mark-stdio", a.mark_stdio,
                "start each line the program writes to stdout/stderr with [rrx EVENT] (with -a)")
      ->needs(modes[0]);
  CLI::Option* process =
      sub->add_option("-p,--process", a.process,
                      "debug this process: from its fork (a pid) or its exec (a program name)")
          ->type_name("PID|NAME");
  sub->add_option("-f,--onfork", a.process, "debug process PID from its fork (as -p PID)")
      ->type_name("PID")
      ->check(whole_number(true))
      ->excludes(process);
  sub->add_option("-g,--goto", a.start_event, "start at this event")
      ->type_name("EVENT")
      ->check(whole_number(false));
  sub->add_option("-d,--debugger", a.debugger, "the debugger to start: gdb, lldb or a path to one")
      ->type_name("DEBUGGER");
  sub->add_flag("-k,--keep-listening", a.keep_listening,
                "with --serve or -s: after a debugger detaches, serve the next one (from the start)");
  // For the debugger rrx starts: none of the other modes.
  std::vector<CLI::Option*> for_debugger = {
      sub->add_flag("-e,--goto-exit", a.goto_exit,
                "run to the end of the recording before the debugger takes over"),
      sub->add_option("-x,--script", a.script, "run this gdb (or lldb) command file in the debugger")
          ->type_name("FILE")
          ->check(CLI::ExistingFile.description("")),
      sub->add_flag("--fullname", a.fullname, "gdb --fullname: file:line marks for editors"),
      // gdb's own spelling "-i=mi" reaches us as "=mi".
      sub->add_option_function<std::string>(
             "-i,--interpreter",
             [&a](const std::string& v) { a.interpreter = v.rfind('=', 0) == 0 ? v.substr(1) : v; },
             "gdb's interpreter (-i=mi for IDEs)")
          ->type_name("INTERP"),
  };
  for (CLI::Option* option : for_debugger) {
    for (CLI::Option* mode : modes) option->excludes(mode);
    option->excludes(serve);
  }
  add_trace(sub, &a.trace);
  sub->footer("Words after \"--\" go to the debugger: rrx replay TRACE -- -nx.");
}

void define_dump(CLI::App* sub, CommandLine* v) {
  DumpArgs& a = v->dump;
  sub->add_option_function<std::string>(
         "-e,--events",
         [&a](const std::string& text) {
           std::string error = parse_range(text, &a.range);
           if (!error.empty()) throw CLI::ValidationError("-e", error);
         },
         "only events FROM to TO (N, FROM-TO, FROM- or -TO)")
      ->type_name("FROM-TO");
  sub->add_flag("--json", a.json, "one JSON object per event, one per line");
  add_trace(sub, &a.trace);
}

void define_spin_off(CLI::App* sub, CommandLine* v) {
  SpinOffArgs& a = v->spin_off;
  sub->add_option("-p,--process", a.process, "the recorded pid of the process to copy (default: the first)")
      ->type_name("PID")
      ->check(whole_number(true));
  sub->add_option("-g,--goto", a.event, "replay to this event first")
      ->type_name("EVENT")
      ->required()
      ->check(whole_number(false));
  sub->add_option_function<std::string>(
         "--ticks",
         [&a](const std::string& text) {
           a.has_ticks = true;
           a.ticks = std::stoull(text);
         },
         "then on to where the process's soft tick count is TICKS")
      ->type_name("TICKS")
      ->check(whole_number(false));
  sub->add_flag("--live", a.live,
                "the copy runs for real: its syscalls execute, its files are opened again");
  sub->add_option("--json", a.json_file, "write the copy's state (registers, memory map, fds) to FILE")
      ->type_name("FILE");
  add_trace(sub, &a.trace);
  sub->footer("Prints the pid of the copy, stopped by SIGSTOP and untraced, then replays on to the end.");
}

// One subcommand: its name, one line of help, options, and what it runs.
struct Command {
  const char* name;
  const char* help;
  void (*define)(CLI::App*, CommandLine*);
  int (*run)(const CommandLine&);
};

const Command kCommands[] = {
    {"record", "record PROGRAM and every process it starts", define_record,
     [](const CommandLine& v) { return record_command(v.record); }},
    {"replay", "replay a trace: in gdb or lldb, served to one, or on autopilot (-a)",
     define_replay, [](const CommandLine& v) { return replay_command(v.replay); }},
    {"dump", "list the events of a trace", define_dump,
     [](const CommandLine& v) { return dump_command(v.dump); }},
    {"spin-off", "copy a process at a point of a replay into a live process of its own",
     define_spin_off, [](const CommandLine& v) { return spin_off_command(v.spin_off); }},
    {"ls", "list the traces in the trace root",
     [](CLI::App* sub, CommandLine* v) {
       sub->add_flag("--json", v->ls.json, "one JSON object per trace, one per line");
     },
     [](const CommandLine& v) { return ls_command(v.ls); }},
    {"rm", "delete a trace",
     [](CLI::App* sub, CommandLine* v) {
       sub->add_option("TRACE", v->trace, "trace directory or name in the trace root")
           ->type_name("")
           ->required();
     },
     [](const CommandLine& v) { return rm_command(v.trace); }},
    {"mv", "rename a trace (latest-trace follows it)",
     [](CLI::App* sub, CommandLine* v) {
       sub->add_option("OLD", v->mv.from, "trace directory or name in the trace root")
           ->type_name("")
           ->required();
       sub->add_option("NEW", v->mv.to, "new name beside the trace, or a path")
           ->type_name("")
           ->required();
     },
     [](const CommandLine& v) { return mv_command(v.mv); }},
    {"ps", "list the processes of a trace: pid, parent, exit status, command line",
     [](CLI::App* sub, CommandLine* v) {
       sub->add_flag("--json", v->query.json, "one JSON object per process, one per line");
       add_trace(sub, &v->query.trace);
     },
     [](const CommandLine& v) { return ps_command(v.query); }},
    {"traceinfo", "describe a trace as JSON: header, tick source, CPU, events, sizes",
     [](CLI::App* sub, CommandLine* v) { add_trace(sub, &v->trace); },
     [](const CommandLine& v) { return traceinfo_command(v.trace); }},
    {"pack", "copy the files a trace uses into it, so it outlives them",
     [](CLI::App* sub, CommandLine* v) { add_trace(sub, &v->trace); },
     [](const CommandLine& v) { return pack_command(v.trace); }},
    {"sources", "list the source files of the recorded programs (from DWARF)",
     [](CLI::App* sub, CommandLine* v) {
       sub->add_flag("--json", v->query.json, "one JSON object per source file, one per line");
       add_trace(sub, &v->query.trace);
     },
     [](const CommandLine& v) { return sources_command(v.query); }},
    {"gdbinit", "print the line for ~/.gdbinit that adds rr-replay to gdb",
     [](CLI::App*, CommandLine*) {},
     [](const CommandLine&) { return print_init_line(DebuggerKind::kGdb); }},
    {"lldbinit", "print the line for ~/.lldbinit that loads rrx's lldb plugin",
     [](CLI::App*, CommandLine*) {},
     [](const CommandLine&) { return print_init_line(DebuggerKind::kLldb); }},
};

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// CLI11's "--output-trace-dir: 1 required DIR missing" as "--output-trace-dir needs DIR".
std::string parse_error_text(const CLI::ParseError& e) {
  static const std::regex missing_value("^(\\S+): 1 required (\\S+) missing$");
  std::string text = one_line(e.what());
  return std::regex_replace(text, missing_value, "$1 needs $2");
}

// The help of `topic` ("" = the whole program).
int print_help(const CLI::App& app, const std::string& topic) {
  const CLI::App* target = &app;
  if (!topic.empty()) {
    try {
      target = app.get_subcommand(topic);
    } catch (const CLI::OptionNotFound&) {
      target = nullptr;
    }
    if (!target || target->get_group().empty()) {
      fprintf(stderr, "rrx: help: unknown command '%s'\n", printable(topic).c_str());
      return 2;
    }
  }
  fputs(target->help(target == &app ? "" : "rrx").c_str(), stdout);
  return 0;
}

}  // namespace

std::string synopsis(const CLI::App& sub) {
  return one_line(Formatter().make_usage(&sub, "rrx " + sub.get_name()).substr(strlen("Usage: ")));
}

bool takes_trace(const CLI::App& sub) {
  for (const CLI::Option* opt : sub.get_options()) {
    if (opt->get_positional() && opt->get_name() == "TRACE") return true;
  }
  return false;
}

std::unique_ptr<CLI::App> define_command_line(CommandLine* values) {
  auto app = std::make_unique<CLI::App>(
      "rrx records a Linux x86-64 program and every process it starts, then replays that "
      "exact execution as often as you like, in gdb or lldb with reverse execution.",
      "rrx");
  app->formatter(std::make_shared<Formatter>());
  app->set_version_flag("--version", "rrx " RRX_VERSION);
  app->require_subcommand(1);
  app->footer(
      "TRACE defaults to the latest recording: latest-trace in the trace root ($RRX_TRACE_DIR, "
      "else $XDG_DATA_HOME/rrx, else ~/.local/share/rrx).\n'rrx help COMMAND' or "
      "'rrx COMMAND --help' describes a command.");
  for (const Command& c : kCommands) {
    CLI::App* sub = app->add_subcommand(c.name, c.help);
    c.define(sub, values);
  }
  CLI::App* help = app->add_subcommand("help", "describe rrx or one of its commands");
  help->add_option("COMMAND", values->help_topic, "the command to describe")->type_name("");
  // Used by the build to write the man page and the bash completion.
  CLI::App* generate = app->add_subcommand("generate", "")->group("");
  generate->add_option("what", values->generate)
      ->required()
      ->check(CLI::IsMember({"man", "bash-completion"}));
  return app;
}

namespace {

// `rrx record [OPTIONS] -- PROGRAM [ARGS...]`: the options before "--" are
// record's when they parse as nothing but options; then the program is
// what follows. (CLI11 hands a "--" inside a prefix command to the parent.)
bool split_record_at_dashes(int argc, char** argv, CommandLine* values) {
  if (argc < 3 || std::string(argv[1]) != "record") return false;
  int dashes = 2;
  while (dashes < argc && std::string(argv[dashes]) != "--") ++dashes;
  if (dashes == argc) return false;
  CommandLine parsed;
  std::unique_ptr<CLI::App> app = define_command_line(&parsed);
  try {
    app->parse(dashes, argv);
  } catch (const CLI::ParseError&) {
    return false;
  }
  if (!app->get_subcommands().front()->remaining().empty()) return false;
  *values = parsed;
  values->record.argv.assign(argv + dashes + 1, argv + argc);
  return true;
}

// `rrx replay ... -- ARGS`: ARGS go to the debugger; returns how many of
// argv are rrx's.
int split_replay_at_dashes(int argc, char** argv, CommandLine* values) {
  if (argc < 3 || std::string(argv[1]) != "replay") return argc;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      values->replay.debugger_args.assign(argv + i + 1, argv + argc);
      return i;
    }
  }
  return argc;
}

}  // namespace

int run_command_line(int argc, char** argv) {
  CommandLine values;
  if (split_record_at_dashes(argc, argv, &values)) {
    if (values.record.argv.empty()) {
      fprintf(stderr, "rrx: record: no program given (see 'rrx record --help')\n");
      return 2;
    }
    return record_command(values.record);
  }
  std::unique_ptr<CLI::App> app = define_command_line(&values);
  if (argc < 2) {
    fputs(app->help().c_str(), stderr);
    return 2;
  }
  std::string first = argv[1];
  if (first[0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
      known |= sub->get_name() == first;
    }
    if (!known) {
      fprintf(stderr, "rrx: unknown command '%s' (try 'rrx help')\n", printable(first).c_str());
      return 2;
    }
  }
  argc = split_replay_at_dashes(argc, argv, &values);
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // The help of the command it was asked of.
    std::vector<CLI::App*> chosen = app->get_subcommands();
    return print_help(*app, chosen.empty() ? "" : chosen.back()->get_name());
  } catch (const CLI::CallForVersion& version) {
    printf("%s\n", version.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::vector<CLI::App*> chosen = app->get_subcommands();
    std::string where = chosen.empty() ? "" : chosen.back()->get_name() + ": ";
    std::string hint = chosen.empty() ? "rrx --help" : "rrx " + chosen.back()->get_name() + " --help";
    fprintf(stderr, "rrx: %s%s (see '%s')\n", where.c_str(), printable(parse_error_text(e)).c_str(),
            hint.c_str());
    return 2;
  }
  const CLI::App* chosen = app->get_subcommands().front();
  const std::string& name = chosen->get_name();
  if (name == "help") return print_help(*app, values.help_topic);
  if (name == "generate") {
    fputs((values.generate == "man" ? man_page(*app) : bash_completion(*app)).c_str(), stdout);
    return 0;
  }
  if (name == "record") {
    values.record.argv = chosen->remaining();
    if (values.record.argv.empty()) {
      fprintf(stderr, "rrx: record: no program given (see 'rrx record --help')\n");
      return 2;
    }
    // An option CLI11 did not know lands here too.
    if (values.record.argv[0][0] == '-') {
      fprintf(stderr, "rrx: record: unknown option '%s' (see 'rrx record --help')\n",
              printable(values.record.argv[0]).c_str());
      return 2;
    }
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(values);
  }
  return 2;
}

}  // namespace rrx
