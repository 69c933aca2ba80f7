// JSON output of the commands that print data (--json, traceinfo).
// Paths and arguments are bytes on Linux; bytes that are not UTF-8 are
// written as U+FFFD.
#pragma once

#include <nlohmann/json.hpp>

namespace rrx {

using Json = nlohmann::ordered_json;

// One compact object per line (JSON Lines).
void print_json_line(const Json& value);
// An indented document.
void print_json_document(const Json& value);

}  // namespace rrx
