// A replay driven by a script: the Python module's view of the engine. It
// is a client of ReplayTarget, like the gdb server, and adds what scripts
// need on top: numbered breakpoints, seeking to an event, symbols, and the
// write queries (the last write to a range, every write to it). No Python
// here; python/replay_object.cc binds it.
#pragma once

#include <sched.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gdbserver/debug_target.h"
#include "writing_instruction.h"

namespace rrx {

class ReplayTarget;

struct ScriptStop {
  enum class Reason { kBreakpoint, kWatchpoint, kSignal, kStep, kStart, kEnd, kEvent, kInterrupted };
  Reason reason = Reason::kStep;
  uint64_t pc = 0;
  uint64_t event = 0;
  int32_t thread = 0;
  uint64_t address = 0;  // kWatchpoint: the watched address that fired
  int signal = 0;        // kSignal
};
const char* reason_name(ScriptStop::Reason reason);

struct FoundWrite {
  uint64_t event = 0;
  uint64_t ticks = 0;
  uint64_t pc = 0;  // the writing instruction; 0 if it cannot be told
  int32_t thread = 0;
  std::vector<uint8_t> old_bytes, new_bytes;
};

class ReplayDriver {
 public:
  // Polled while replaying forwards; true: stop soon (Ctrl-C).
  using Interrupted = std::function<bool()>;

  static std::unique_ptr<ReplayDriver> open(const std::string& trace, const std::string& process,
                                            std::string* error);
  ~ReplayDriver();  // ends every tracee of the replay

  uint64_t when();
  uint64_t ticks();
  int32_t thread();
  uint64_t pc();
  bool registers(RegisterFile* regs);
  std::string executable();

  ScriptStop seek(uint64_t event, const Interrupted& interrupted);
  ScriptStop resume(Direction direction, ResumeRequest::Action action,
                    const Interrupted& interrupted);

  // Numbered breakpoints and watchpoints (ids from 1). False + *error if
  // the hardware cannot watch the range or the address cannot be patched.
  bool break_at(uint64_t address, int* id, std::string* error);
  bool watch(uint64_t address, uint64_t size, BreakpointKind kind, int* id, std::string* error);
  bool remove(int id, std::string* error);

  // False + *error if any byte of the range is unreadable.
  bool read(uint64_t address, size_t size, std::vector<uint8_t>* out, std::string* error);

  bool checkpoint(int* id, std::string* error);
  // Spins off the current process here (replay/spin_off.h): its pid and
  // its state as JSON.
  bool spin_off(bool live, int* pid, std::string* json, std::string* error);
  bool restart(int id, std::string* error);

  // The run-time address of `name` in the executable or a loaded library.
  bool symbol(const std::string& name, uint64_t* address, std::string* error);
  // The name of the function or object containing `address`, "" if none.
  std::string symbol_at(uint64_t address);

  // The last write to [address, address+size) before now. Found: the replay
  // stays at the writing instruction (not yet executed). Not found: the
  // replay is back where it was. False + *error if the search failed.
  bool last_write(uint64_t address, uint64_t size, std::optional<FoundWrite>* found,
                  std::string* error);
  // The next write to the range from now, forwards, until event `end` has
  // been replayed (none: the end of the recording). The replay stays just
  // after the writing instruction.
  enum class Next { kFound, kNone, kInterrupted, kFailed };
  Next next_write(uint64_t address, uint64_t size, std::optional<uint64_t> end,
                  const Interrupted& interrupted, FoundWrite* found, std::string* error);

 private:
  struct Point {
    BreakpointKind kind;
    uint64_t address;
    uint64_t length;
  };
  struct Symbol {
    std::string name;
    uint64_t address, size;
  };

  explicit ReplayDriver(std::unique_ptr<ReplayTarget> target);
  std::string monitor(const std::string& command, bool* ok = nullptr);
  // The target's own checkpoints, by its numbers.
  bool take_checkpoint(int* number, std::string* error);
  bool restart_checkpoint(int number, std::string* error);
  void drop_checkpoint(int number);
  uint64_t monitor_number(const std::string& command);
  ScriptStop convert(const StopReason& stop, bool interrupted);
  // The user's breakpoints and watchpoints, out of the way of a search.
  void lift_points();
  void restore_points();
  bool watch_range(BreakpointKind kind, uint64_t address, uint64_t size, std::vector<Point>* pieces,
                   std::string* error);
  void unwatch(const std::vector<Point>& pieces);
  void load_symbols();
  ScriptStop run(Direction direction, ResumeRequest::Action action, const Interrupted& interrupted);
  // Ends a writes() search's watchpoint and gives the user's points back.
  void disarm();
  // Whether the current thread's next instruction stores into the range.
  bool at_store_into(uint64_t address, uint64_t size);

  std::unique_ptr<ReplayTarget> target_;
  bool have_affinity_ = false;
  cpu_set_t affinity_;  // the opening thread's CPUs before the replay pinned it
  std::map<int, std::vector<Point>> points_;  // by id; a watch may take several registers
  bool points_lifted_ = false;
  int next_point_ = 1;
  std::map<int, int> checkpoints_;  // user id -> the target's checkpoint number
  int next_checkpoint_ = 1;
  int start_checkpoint_ = 0;        // the target's checkpoint at the start
  uint64_t start_event_ = 0;
  struct ArmedSearch {
    uint64_t address, size;
    std::vector<Point> pieces;
    // The range's bytes at the last write found: nothing has run since (any
    // other use of the replay disarms), so they are the next write's old.
    std::optional<std::vector<uint8_t>> last_new;
  };
  std::optional<ArmedSearch> armed_;  // next_write's watchpoint, kept between writes
  WritingInstructionFinder writers_;  // next_write's decoding of the writing instruction
  std::vector<Symbol> symbols_;
  bool symbols_loaded_ = false;
};

}  // namespace rrx
