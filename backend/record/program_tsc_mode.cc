// The program's view of its time-stamp-counter mode (prctl PR_SET_TSC /
// PR_GET_TSC). rrx makes rdtsc trap in every recorded process (the trap is
// how its value gets recorded), so the kernel's answer would be
// PR_TSC_SIGSEGV and a program's PR_TSC_ENABLE would switch the trapping
// off. The recorder answers both from the mode the program last set
// (PR_TSC_ENABLE until then, as without rrx); replay takes the recorded
// answers.
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>

#include "record/recorder.h"

namespace rrx {

int Recorder::program_tsc_mode(pid_t tgid) const {
  auto it = tsc_modes_.find(tgid);
  return it == tsc_modes_.end() ? PR_TSC_ENABLE : it->second;
}

bool Recorder::emulate_set_tsc(RecordTask& t) {
  if (t.call.number != SYS_prctl || t.call.args[0] != PR_SET_TSC) return false;
  int mode = static_cast<int>(t.call.args[1]);
  if (mode != PR_TSC_ENABLE && mode != PR_TSC_SIGSEGV) {
    finish_emulated(t, -EINVAL);
    return true;
  }
  tsc_modes_[t.tgid] = mode;
  finish_emulated(t, 0);
  return true;
}

void Recorder::show_program_tsc_mode(RecordTask& t, int64_t result) {
  if (t.call.number != SYS_prctl || t.call.args[0] != PR_GET_TSC || result != 0) return;
  int mode = program_tsc_mode(t.tgid);
  t.task->write_mem(t.call.args[1], &mode, sizeof mode);
}

void Recorder::inherit_tsc_mode(pid_t parent_tgid, pid_t child_tgid) {
  auto it = tsc_modes_.find(parent_tgid);
  if (it != tsc_modes_.end()) tsc_modes_[child_tgid] = it->second;
}

}  // namespace rrx
