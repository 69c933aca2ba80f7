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

// The trace the user meant: <root>/latest-trace if `arg` is empty; else
// `arg` as a path, or, when that names nothing and `arg` has no '/', the
// trace of that name in the root (as rr resolves `rr replay ls-3`).
std::string resolve_trace(const std::string& arg);

// Where `<root>/latest-trace` points, as an absolute path ("" if nowhere).
std::string latest_trace(const std::string& root);

// Removes `<root>/latest-trace` (after its trace was deleted).
void remove_latest_trace(const std::string& root);

// Whether `dir` holds a trace (a version file naming the rrx format): what
// `rrx rm` and `rrx ls` accept, so they never touch other directories.
bool is_trace_dir(const std::string& dir);

}  // namespace rrx
