// SIGTERM and SIGHUP to `rrx record` end the recording, not the recorder:
// the program is killed after the last event and the trace is finished,
// marked as ended by that signal (TraceSummary::ended_by_signal). A signal
// the recorder was started with ignored (nohup) stays ignored.
#pragma once

namespace rrx {

// Installs the handlers (without SA_RESTART, so a wait for a tracee returns
// EINTR and the recorder notices at once).
void catch_user_end_signals();
// The signal caught since, or 0.
int user_end_signal();
// Puts back the dispositions catch_user_end_signals() replaced.
void release_user_end_signals();

}  // namespace rrx
