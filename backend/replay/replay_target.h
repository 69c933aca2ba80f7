// What a debugger sees of a replay: one process of the trace, which it can
// run forwards and backwards. Going backwards is going to an earlier
// checkpoint and running forwards again to just before "now".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gdbserver/agent_expression.h"
#include "gdbserver/debug_target.h"
#include "replay/position.h"
#include "replay/replay_session.h"
#include "replay/spin_off.h"

namespace rrx {

class Diversion;

struct ReplayTargetOptions {
  std::string trace_dir;
  // The process to debug: a recorded pid, or the name of a program it
  // exec'd. Empty: the first process.
  std::string process;
  uint64_t start_event = 0;  // run at least this far before the debugger
};

class ReplayTarget final : public DebugTarget {
 public:
  static std::unique_ptr<ReplayTarget> create(const ReplayTargetOptions& options,
                                              std::string* error);
  ~ReplayTarget() override;

  // DebugTarget
  std::vector<ThreadId> threads() override;
  ThreadId current_thread() override;
  bool read_registers(const ThreadId& thread, RegisterFile* regs) override;
  bool write_registers(const ThreadId& thread, const RegisterFile& regs,
                       std::string* error) override;
  std::vector<uint8_t> read_memory(uint64_t address, size_t length) override;
  bool write_memory(uint64_t address, const std::vector<uint8_t>& data,
                    std::string* error) override;
  bool insert_breakpoint(BreakpointKind kind, uint64_t address, size_t length) override;
  bool remove_breakpoint(BreakpointKind kind, uint64_t address, size_t length) override;
  bool set_breakpoint_conditions(uint64_t address,
                                 const std::vector<AgentExpression>& conditions) override;
  StopReason resume(const ResumeRequest& request) override;
  std::vector<uint8_t> auxv() override;
  std::string exec_file() override;
  std::string libraries_svr4_xml() override;
  std::vector<uint8_t> siginfo(const ThreadId& thread) override;
  bool memory_region(uint64_t address, MemoryRegion* region) override;
  bool restart(uint64_t event, std::string* error) override;
  bool monitor(const std::string& command, std::string* output) override;

  // The general registers alone (read_registers() also reads the x87, SSE
  // and AVX state: two more ptrace calls).
  bool read_general_registers(const ThreadId& thread, Registers* regs);
  // The saved copy of the debugged process's executable.
  std::string exe_path();
  // Spins off the debugged thread where the replay is (replay/spin_off.h);
  // a diversion is discarded first: the copy is of the recording.
  bool spin_off(bool live, bool own_stdio, SpunOff* out, std::string* error);
  // Replays on to the end of the trace with nothing debugged; false and
  // *error if the replay fails.
  bool finish(std::string* error);

 private:
  struct Checkpoint {
    std::shared_ptr<SessionCheckpoint> state;
    Position position;
  };
  // A point met while running forwards: where, and what stopped there (a
  // trap, or an event of the debugged thread).
  struct Hit {
    Position position;
    ReplaySession::Trap trap;
    ReplaySession::EventSummary event;  // seq 0 for a trap
  };
  using HitCallback = std::function<void(const Hit&)>;

  explicit ReplayTarget(std::unique_ptr<ReplaySession> session);
  bool start(const ReplayTargetOptions& options, std::string* error);

  Position here();
  uint64_t trap_address();
  // The Task whose registers `thread` shows (the diversion's for the focus
  // while there is one), and its replay state.
  Task* thread_task(const ThreadId& thread, const ReplayTask** state);
  StopReason stop_here(StopReason::Kind kind);
  StopReason report(const ReplaySession::Trap& trap);
  StopReason forward(bool single_step);
  StopReason reverse_continue();
  enum class TickSearch { kFound, kNoHit, kUnusable };
  TickSearch reverse_continue_by_ticks(const Position& target, const Checkpoint* from,
                                       StopReason* stop);
  struct EventTicks {
    uint64_t event;
    int32_t tid;  // the event's thread
    uint64_t ticks;
  };
  std::vector<EventTicks> ticks_at_events(uint64_t last_event);
  bool replay_events_to(uint64_t event, const std::function<void()>& after_each = nullptr);
  StopReason reverse_step();
  bool go_to_last_event_of_focus(const Position& now);
  StopReason history_start();
  // The end of the recording; says once if the trace ends early.
  StopReason history_end();
  StopReason replay_failed(const std::string& what);
  bool seek_ticks(uint64_t ticks, std::string* error);
  // Diversions (diversion.h): made by the first write, ended when the
  // replay moves.
  bool divert(std::string* error);
  void end_diversion();
  bool diversion_is_replay();
  StopReason run_diversion(const ResumeRequest& request);
  // Whether the debugger asked to stop (Ctrl-C) during this resume; polls
  // it at most every few milliseconds. Every loop that replays for a
  // resume asks at each event and trap, and gives up when told to.
  bool stop_requested();
  StopReason interrupted_here();
  // The stop the event just replayed asks for (a recorded signal, a caught
  // syscall of the debugged process), if any.
  std::optional<StopReason> event_stop();
  bool is_caught_syscall(const ReplaySession::EventSummary& event) const;
  StopReason syscall_stop(const ReplaySession::EventSummary& event);

  // Runs forwards from where the session is to `target`, calling on_hit at
  // every trap and focus event on the way (at a trap, hit.position is a
  // quick_position_of: a callback that keeps the point takes here()).
  // False if `target` is not met.
  // Without on_hit the breakpoints and watchpoints are lifted while the
  // tick counter takes the thread close to the target (nothing on the way
  // is of interest).
  bool run_to(const Position& target, const HitCallback& on_hit);
  // Single-steps forwards; false at the end of the focus's history. Stops
  // early at `stop_at` if it is the position at an event the step reaches.
  bool step_once(const Position* stop_at = nullptr);
  // The latest checkpoint strictly before `target`.
  const Checkpoint* checkpoint_before(const Position& target) const;
  bool restore(const Checkpoint& checkpoint);
  void maybe_auto_checkpoint();
  bool is_user_breakpoint(uint64_t addr) const { return user_breakpoints_.count(addr) != 0; }
  std::vector<uint64_t> executed_addresses(uint64_t address) const;
  bool run_to_tick_before(const Position& target);
  bool is_debugger_stop(const Hit& hit);
  // Whether the breakpoint the focus thread trapped at stops it: its
  // conditions, evaluated here.
  bool breakpoint_condition_holds(uint64_t address);
  StopReason stop_at_hit(const Hit& hit);
  size_t steps_from_tick_before(const Position& target);

  std::unique_ptr<ReplaySession> session_;
  std::unique_ptr<Diversion> diversion_;  // the debugger changed something
  std::set<uint64_t> user_breakpoints_;
  std::map<uint64_t, std::vector<AgentExpression>> conditions_;  // by executed address
  std::vector<Watchpoint> watchpoints_;
  std::vector<Checkpoint> auto_checkpoints_;        // by position; [0] = start
  bool told_early_end_ = false;
  uint64_t last_event_ = 0;  // of the trace, once asked (when-end)
  std::map<int, Checkpoint> user_checkpoints_;      // `checkpoint` command
  int next_user_checkpoint_ = 1;
  std::chrono::steady_clock::time_point last_auto_checkpoint_;
  // The resume in progress (its Ctrl-C poll, signals and syscalls to stop
  // at), and whether the user pressed Ctrl-C.
  ResumeRequest request_;
  bool interrupted_ = false;
  std::chrono::steady_clock::time_point last_interrupt_poll_;
  // When this resume started, and when it last said how far it is.
  std::chrono::steady_clock::time_point resume_started_, last_progress_;
  void report_progress(std::chrono::steady_clock::time_point now);
};

}  // namespace rrx
