// The soft tick counter of programs built with our GCC plugin (see
// backend/ticks/tick_page.h): a page at a fixed address that instrumented
// code counts conditional branches into, and that traps when the count
// reaches a target. rrx maps it into every process at exec, in recording
// and replay alike; uninstrumented programs never touch it.
#pragma once

#include <cstdint>
#include <string>

#include "core/task.h"

namespace rrx {

// Maps and initialises the page in a freshly exec'd `task` (at a stop where
// an injected syscall may run). False if the address is taken.
bool map_tick_page(Task& task);

// The thread's tick count so far: the hardware counter's if the session
// uses hardware ticks (core/hw_tick_source.h), else the tick page's (0 if
// the page is missing).
uint64_t read_ticks(const Task& task);
// Makes the thread stop with its tick interrupt (take_tick_interrupt) once
// its count reaches `target`; UINT64_MAX disarms. Soft ticks stop exactly
// there; hardware ticks at or before it (arm_ticks_by).
bool set_tick_target(Task& task, uint64_t target);
// A time slice: the interrupt once `ticks` more are counted (hardware: a
// few late), 0: none. Soft ticks: nothing while the thread has counted
// none yet (it runs no counting code, or has not started); one read of the
// page, and a write only when the target changes (resumes are frequent).
bool arm_tick_slice(Task& task, uint64_t ticks);
// Replay's approach to a point at tick `target`: arms an interrupt that
// stops the thread at or before the target (soft: at it; hardware: the
// skid margin short of it, so the late interrupt never overshoots). False
// when nothing was armed (already there, or within the skid): go on with
// breakpoints.
bool arm_ticks_by(Task& task, uint64_t target);
// At a signal stop with signal `sig`: whether it is the tick interrupt
// (soft: the page's SIGTRAP; hardware: the counter's). Clears and disarms
// it if so; the caller never delivers that signal.
bool take_tick_interrupt(Task& task, int sig);
// take_tick_interrupt at a SIGTRAP.
bool take_tick_trap(Task& task);
// The signal the tick interrupt stops the thread with.
int tick_interrupt_signal(Task& task);
// Whether the interrupt stops the thread exactly at the target tick (soft)
// or somewhere up to the skid after it (hardware): then a point is named by
// the count and the registers, and found again with breakpoints.
bool tick_interrupts_exact(Task& task);

// The tick page itself, for the soft source and the simulated hardware
// counter (core/sim_counter_device.h): its count, target and trap.
uint64_t page_ticks(const Task& task);
bool set_page_target(Task& task, uint64_t target);
bool take_page_trap(Task& task);

// Maps a dynamic tick patch (instrument/patch_file.h) into `task`: the
// file's first code_len bytes over the program's code at code_addr
// (replacing that mapping), the next stubs_len bytes at stubs_addr (never
// over another mapping). Private, read+exec. False if the task cannot
// open the file or a mapping lands elsewhere.
bool map_tick_patch(Task& task, const std::string& path, uint64_t code_addr, uint64_t code_len,
                    uint64_t stubs_addr, uint64_t stubs_len);


}  // namespace rrx
