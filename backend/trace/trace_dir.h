// Where traces live and how they are named (see docs/trace-format.md).
#pragma once

#include <string>

namespace rrx {

// $RRX_TRACE_DIR, else $XDG_DATA_HOME/rrx, else ~/.local/share/rrx.
std::string default_trace_root();

// Creates the root (0700) if needed and returns a fresh, not yet existing
// path `<root>/<basename(exe)>-<n>` with the smallest unused n >= 0.
std::string next_trace_dir(const std::string& root, const std::string& exe,
                           std::string* error);

// Points `<root>/latest-trace` at `trace_dir`.
bool update_latest_trace(const std::string& root, const std::string& trace_dir,
                         std::string* error);

// The trace the user meant: `arg` if non-empty, else <root>/latest-trace.
std::string resolve_trace(const std::string& arg);

}  // namespace rrx
