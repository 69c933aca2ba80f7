// Replays a trace: re-executes the recorded program, feeding it the
// recorded results of everything non-deterministic, and checks at every
// event that it is still doing exactly what it did when recorded.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>

#include "trace/trace_reader.h"

namespace rrx {

struct ReplayTask;

class ReplaySession {
 public:
  // Opens the trace and starts the first process, stopped before its
  // first instruction. On failure returns nullptr and sets *error.
  static std::unique_ptr<ReplaySession> start(const std::string& trace_dir,
                                              std::string* error);
  ~ReplaySession();

  // Replays the next event. Returns false at the end of the trace (with
  // error() empty) or when replay cannot go on (error() says why).
  bool step();
  const std::string& error() const { return error_; }
  // The number of the last event replayed (0 before the first).
  uint64_t current_event() const { return seq_; }

  // Whether bytes the program wrote to stdout/stderr are written to ours.
  void set_echo_output(bool echo) { echo_ = echo; }

 private:
  explicit ReplaySession(std::unique_ptr<TraceReader> reader);
  bool spawn_root();
  bool next_event(Event* event);
  const Event* peek_for_tid(int32_t tid);
  bool diverged(const Event& event, const std::string& what);

  bool replay_syscall_entry(ReplayTask& t, const Event& e);
  bool replay_syscall_exit(ReplayTask& t, const Event& e);
  bool replay_exec(ReplayTask& t, const Event& e);
  bool replay_new_task(ReplayTask& t, const Event& e);
  bool replay_signal(ReplayTask& t, const Event& e);
  bool replay_instruction(ReplayTask& t, const Event& e);
  bool replay_exit(ReplayTask& t, const Event& e);
  bool remap(ReplayTask& t, const Event& e);
  bool deliver_under_temporary_mask(ReplayTask& t, const Event& e);

  std::unique_ptr<TraceReader> reader_;
  std::map<int32_t, std::unique_ptr<ReplayTask>> tasks_;  // by recorded tid
  std::deque<Event> lookahead_;
  uint64_t seq_ = 0;
  bool echo_ = true;
  std::string error_;
};

}  // namespace rrx
