// `rrx replay --serve` ended by a signal (SIGTERM, SIGHUP, SIGINT,
// SIGQUIT) still removes its Unix socket and the private directory holding
// it, as a normal end does; then it dies of that signal.
#pragma once

#include <string>

namespace rrx {

// Installs the handlers for the socket at `socket_path` (inside its own
// directory), except for signals rrx was started with ignored.
void remove_socket_on_fatal_signals(const std::string& socket_path);

}  // namespace rrx
