// Facts a debugger asks about the debugged process, read from the replay:
// its auxv, executable, shared libraries and memory map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gdbserver/debug_target.h"

namespace rrx {

class ReplaySession;

// The recorded tid of a live replayed process that is the program `name`
// (see names_program()), or 0.
int32_t find_process_by_name(const ReplaySession& session, const std::string& name);

// The focus process's auxv as recorded (from the initial stack).
std::vector<uint8_t> process_auxv(const ReplaySession& session);
// The trace's copy of the focus process's executable.
std::string process_exe_path(ReplaySession& session);
// The qXfer:libraries-svr4 document for the focus process, from the
// dynamic linker's r_debug list in its memory.
std::string svr4_library_list(ReplaySession& session);
bool find_memory_region(ReplaySession& session, uint64_t address, MemoryRegion* region);

}  // namespace rrx
