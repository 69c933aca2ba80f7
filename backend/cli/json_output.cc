#include "cli/json_output.h"

#include <cstdio>

namespace rrx {

namespace {

std::string dump(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

void print_json_line(const Json& value) { printf("%s\n", dump(value, -1).c_str()); }

void print_json_document(const Json& value) { printf("%s\n", dump(value, 2).c_str()); }

}  // namespace rrx
