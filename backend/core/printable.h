// Text from a trace (paths, names, argv) or from a program can hold any
// bytes: escape sequences, newlines. Before it goes into a message on a
// terminal it is made printable.
#pragma once

#include <string>
#include <string_view>

namespace rrx {

// `text` with every byte outside printable ASCII (and the backslash) as
// \xNN, so a message stays one harmless line.
std::string printable(std::string_view text);

}  // namespace rrx
