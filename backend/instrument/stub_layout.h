// Where each piece of a site's stub lies (the stub writer lays stubs out
// by it, the pc map reads them back by it): one source of truth for the
// encodings below. Byte sequences are given in stub_writer.cc.
//
// kCountBeforeSetter (k moved instructions, the last one sets the flags):
//   moved[0..k-2] | addq $1,count; je trap | moved[k-1] | jcc rel32 |
//   jmp rel32 fallthrough | trap: movq $1,trap_pending; int3; jmp resume
// kFlagFree:
//   moved[0..k-1] | spill %rcx; load count; lea 1; store; jrcxz trap;
//   reload %rcx | jcc rel32 | jmp rel32 fallthrough |
//   trap: reload %rcx; movq $1,trap_pending; int3; jmp resume
// "resume" is where the trap goes back to: the setter's copy, or the jcc.
#pragma once

#include <cstdint>

#include "instrument/jcc_scanner.h"

namespace rrx::instrument {

inline constexpr uint32_t kCountBytes = 15;          // addq (9) + je rel32 (6)
inline constexpr uint32_t kFlagFreeCountBytes = 38;  // 8 + 8 + 4 + 8 + 2 + 8
inline constexpr uint32_t kJccBytes = 6, kJmpBytes = 5;
inline constexpr uint32_t kTrapBytes = 15;           // movq (12) + int3 + jmp rel8
inline constexpr uint32_t kFlagFreeTrapBytes = 23;   // reload (8) + 15

struct StubLayout {
  uint32_t moved_at[kMaxMoved] = {};  // offset of each moved copy
  uint32_t count_at = 0, count_end = 0;  // the counting glue
  uint32_t resume = 0;   // what the trap returns to
  uint32_t jcc_at = 0;   // the jcc's copy
  uint32_t jmp_at = 0;   // the jump to the fall-through (glue)
  uint32_t trap_at = 0;  // the trap block (glue)
  uint32_t size = 0;
};

inline StubLayout stub_layout(uint8_t form, uint8_t moved, const uint8_t* moved_len) {
  StubLayout l;
  uint32_t at = 0;
  bool before_setter = form == static_cast<uint8_t>(StubForm::kCountBeforeSetter) && moved > 0;
  int before_count = before_setter ? moved - 1 : moved;
  for (int i = 0; i < before_count; ++i) {
    l.moved_at[i] = at;
    at += moved_len[i];
  }
  l.count_at = at;
  at += before_setter ? kCountBytes : kFlagFreeCountBytes;
  l.count_end = at;
  l.resume = at;
  if (before_setter) {
    l.moved_at[moved - 1] = at;
    at += moved_len[moved - 1];
  }
  l.jcc_at = at;
  at += kJccBytes;
  l.jmp_at = at;
  at += kJmpBytes;
  l.trap_at = at;
  at += before_setter ? kTrapBytes : kFlagFreeTrapBytes;
  l.size = at;
  return l;
}

}  // namespace rrx::instrument
