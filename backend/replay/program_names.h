// Whether a recorded process is the program a user names (`rrx replay -p
// NAME`): the file name of the executable it exec'd, or its argv[0] as
// typed or its file name part. A pyenv `python3` runs an executable named
// python3.11 with argv[0] "python3": both names find it.
#pragma once

#include <string>

#include "trace/event.h"

namespace rrx {

// argv[0] from the initial stack an exec event recorded, "" if unreadable.
std::string argv0_of(const MemWrite& initial_stack);
// The program name of an executable saved in the trace ("ls-0" -> "ls").
std::string program_of_saved(const std::string& saved_name);
bool names_program(const std::string& name, const std::string& exe_saved_name,
                   const MemWrite& initial_stack);

}  // namespace rrx
