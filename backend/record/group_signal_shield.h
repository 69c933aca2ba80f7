// A recorded program may signal its whole process group (kill(0, SIGABRT),
// kill(-pgid, SIGUSR1), a SIGTRAP to the group), and the recorder is in that
// group: it shares the terminal's job control with the program. While a
// recording runs, signals whose default action would end or stop the
// recorder, and that it does not use itself, are ignored by it, so such a
// signal reaches the program (recorded as usual) and not the recorder.
// SIGTERM and SIGHUP are caught instead (user_end.h), SIGINT and SIGQUIT are
// ignored by `rrx record` itself, and SIGTSTP is left alone: Ctrl-Z stops
// the whole job, recorder included, as the shell expects.
#pragma once

#include <signal.h>

#include <vector>

namespace rrx {

class GroupSignalShield {
 public:
  GroupSignalShield();   // ignores those signals whose disposition is the default
  ~GroupSignalShield();  // puts back the ones it changed

  GroupSignalShield(const GroupSignalShield&) = delete;
  GroupSignalShield& operator=(const GroupSignalShield&) = delete;

 private:
  std::vector<int> ignored_;
};

}  // namespace rrx
