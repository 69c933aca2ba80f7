#include "replay/program_names.h"

#include <cstring>

namespace rrx {

namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// The stack starts with argc, then the argv pointers; the strings they
// point to lie further up the same recorded range.
std::string argv0_of(const MemWrite& initial_stack) {
  const std::string& stack = initial_stack.data;
  uint64_t pointer;
  if (stack.size() < 16) return "";
  memcpy(&pointer, stack.data() + 8, 8);
  if (pointer < initial_stack.addr || pointer - initial_stack.addr >= stack.size()) return "";
  const char* text = stack.data() + (pointer - initial_stack.addr);
  return std::string(text, strnlen(text, stack.size() - (pointer - initial_stack.addr)));
}

std::string program_of_saved(const std::string& saved_name) {
  size_t dash = saved_name.rfind('-');
  return dash == std::string::npos ? saved_name : saved_name.substr(0, dash);
}

bool names_program(const std::string& name, const std::string& exe_saved_name,
                   const MemWrite& initial_stack) {
  if (name.empty()) return false;
  if (!exe_saved_name.empty() && program_of_saved(exe_saved_name) == name) return true;
  std::string argv0 = argv0_of(initial_stack);
  return !argv0.empty() && (argv0 == name || base_name(argv0) == name);
}

}  // namespace rrx
