// plain_insn.h - which instructions the tick patcher may move into a stub:
// ones that compute or move data and whose meaning does not depend on
// where they run (no branch, call, syscall, trap, padding, privileged or
// time-reading instruction). Rip-relative operands are fixed up apart
// (branch_sites.cc). One rule, used by the scanner and by the coverage
// tool that explains its choices (bench/coverage).
#pragma once

#include <Zydis/Zydis.h>

namespace rrx::instrument {

bool is_plain_insn(const ZydisDecodedInstruction& in);

}  // namespace rrx::instrument
