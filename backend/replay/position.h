// A point in the debugged thread's execution that replay can find again.
//
// A point between two events is named by the thread's registers, a
// fingerprint of the top of its stack and, in programs that count soft
// ticks, the tick count: the same instruction reached twice with all of
// these equal is taken to be the same point. Without ticks the stack top is
// what keeps -O0 loops apart (their counters live on the stack); code that
// loops with identical registers and stack would be ambiguous.
#pragma once

#include <cstdint>

#include "trace/event.h"

namespace rrx {

class ReplaySession;

struct Position {
  uint64_t event = 0;     // the last replayed event (of any thread)
  int32_t tid = 0;        // the debugger's thread
  bool at_event = true;   // it has run no instruction since that event
  Registers regs = {};
  uint64_t stack_hash = 0;
  uint64_t ticks = 0;     // the process's soft tick count (0 if none)
};

Position position_of(ReplaySession& session);
// position_of without the stack fingerprint and the tick count (two reads
// of the thread's memory): enough to tell that a point is not another one
// (maybe_same_position), not to find it again.
Position quick_position_of(ReplaySession& session);
bool same_position(const Position& a, const Position& b);
// same_position but for the stack fingerprint and the tick count: false
// means certainly another point.
bool maybe_same_position(const Position& a, const Position& b);
// Whether `a` is certainly earlier than `b` (positions of one event
// interval are ordered only when one of them is the interval's start).
bool certainly_before(const Position& a, const Position& b);

}  // namespace rrx
