// rrx(1), written from the command-line definition (rrx generate man).
#include <sstream>

#include "cli/command_line.h"

namespace rrx {

namespace {

// Text safe in a roff line: backslashes and minus signs escaped, no line
// starting with a control character.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string option_names(const CLI::Option& opt) {
  if (opt.get_positional()) return opt.get_type_name();
  std::string names;
  for (const std::string& s : opt.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const std::string& l : opt.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  if (opt.get_type_size() != 0 && !opt.get_type_name().empty()) names += " " + opt.get_type_name();
  return names;
}

const char kFiles[] = R"(.SH TRACES
A trace is a directory. Without \fB\-o\fR, \fBrrx record\fR writes it to the
trace root as \fIPROGRAM\-N\fR and points \fIlatest\-trace\fR there at it.
The trace root is \fB$RRX_TRACE_DIR\fR, else \fB$XDG_DATA_HOME/rrx\fR, else
\fI~/.local/share/rrx\fR. A TRACE argument is a path, or the name of a trace
in the trace root; without one, commands use the latest recording.
.SH EXIT STATUS
\fBrrx record\fR exits with the recorded program's status (128+N if it died
of signal N). A bad command line exits 2, a failed command 1; either prints
one line starting with \fBrrx:\fR on standard error.
.SH SEE ALSO
.BR gdb (1),
.BR lldb (1).
The files under docs/ in rrx's source describe the design and the trace format.
)";

}  // namespace

std::string man_page(const CLI::App& app) {
  std::ostringstream out;
  out << ".TH RRX 1 \"\" \"rrx " << RRX_VERSION << "\" \"User Commands\"\n"
      << ".SH NAME\nrrx \\- record and replay Linux x86\\-64 programs, debug them backwards\n"
      << ".SH SYNOPSIS\n";
  std::vector<const CLI::App*> commands =
      app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
  for (const CLI::App* sub : commands) out << ".B " << roff(synopsis(*sub)) << "\n.br\n";
  out << ".SH DESCRIPTION\n" << roff(app.get_description()) << "\n.SH COMMANDS\n";
  for (const CLI::App* sub : commands) {
    out << ".SS \"" << roff(synopsis(*sub)) << "\"\n" << roff(sub->get_description()) << ".\n";
    for (const CLI::Option* opt : sub->get_options()) {
      out << ".TP\n.B " << roff(option_names(*opt)) << "\n" << roff(opt->get_description()) << "\n";
    }
  }
  out << kFiles;
  return out.str();
}

}  // namespace rrx
