/*
 * tick_page.h - ABI of rrx's soft-tick counter (C and C++), version 2.
 *
 * Shared by programs built with the rrx GCC plugin (gcc_plugin/) or with
 * -fsanitize-coverage=trace-pc plus trace_pc.c, by the stubs the tracer
 * patches into uninstrumented code (backend/instrument/), and by the
 * recorder and replayer. See README.md in this directory for the overview.
 *
 * THE PAGE
 *   One page, RRX_TICK_PAGE_SIZE bytes at the fixed address RRX_TICK_PAGE_ADDR
 *   (0x70000000), read/write, private anonymous. Layout (little endian):
 *
 *     +0   uint64_t count         ticks - target (mod 2^64): the counter,
 *                                 biased so that reaching the target is the
 *                                 increment that makes it zero
 *     +8   uint64_t target        the tick count to trap at
 *     +16  uint64_t trap_pending  1 from just before our int3 until the
 *                                 tracer (or a SIGTRAP handler) clears it
 *     +24  uint32_t magic         RRX_TICK_PAGE_MAGIC
 *     +28  uint32_t version       RRX_TICK_PAGE_VERSION
 *     +32  uint64_t spill         scratch of the dynamic stubs' flag-free
 *                                 form (holds %rcx for four instructions)
 *     +40  rest of the page: reserved, zero
 *
 *   ticks = count + target. Why biased: counting is then one instruction
 *   that also says whether the target is reached (`addq $1` sets ZF when
 *   count becomes 0), so the hot path needs no scratch register and no
 *   compare, and the dynamic stubs can count without touching the flags
 *   (`lea 1(%rcx),%rcx` + `jrcxz`). Use rrx_tick_count() and
 *   rrx_tick_set_target() below, never the fields alone.
 *
 *   There is one page per process, not per thread: under rrx only one thread
 *   of a process runs at a time and the count is the process's. Outside rrx
 *   threads share (and race on) the counter, which is harmless there.
 *
 *   Counted events are conditional branches (plugin and dynamic stubs;
 *   README.md lists exactly which) or basic blocks entered (trace-pc).
 *
 *   Who maps it: under rrx the recorder maps it before the program runs.
 *   Outside rrx, every object built with the plugin carries a hidden comdat
 *   constructor (rrx_tick_page_init, in .init_array.00000, so it runs before
 *   all ordinary constructors of its executable or shared object) that does
 *   mmap(RRX_TICK_PAGE_ADDR, 4096, PROT_READ|PROT_WRITE,
 *        MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)
 *   and, only if that returned the page, stores magic, version,
 *   target = UINT64_MAX and count = 1 (ticks 0, target never reached). If
 *   the mmap fails (EEXIST: the recorder or an earlier constructor mapped
 *   it) it changes nothing. trace_pc.c carries the equivalent constructor.
 *
 * THE MARKER
 *   Objects built with the plugin or trace_pc.c carry a section named
 *   RRX_TICK_MARKER_SECTION (an ELF note, owner "rrx", type 1, descriptor
 *   the ABI version). The tracer's dynamic instrumentation leaves such
 *   objects alone: their branches already count.
 *
 * WHAT THE INSTRUMENTATION EXECUTES
 *   Before every counted branch the program runs this hot sequence
 *   (RRX_TICK_ASM_COUNT):
 *
 *     A  addq $1, 0x70000000          48 83 04 25 00 00 00 70 01
 *     B  je   <trap block>            74 rel8 or 0f 84 rel32
 *
 *   and, in a cold block the je leads to (RRX_TICK_ASM_TRAP):
 *
 *     E  movq $1, 0x70000010          48 c7 04 25 10 00 00 70 01 00 00 00
 *     F  int3                         cc
 *     G  compiler glue that carries on where the not-taken je B leads
 *        (normally one jmp back; in trace_pc.c the same ret as the hot
 *        path).
 *
 *   A is the only write to count and is one instruction, so a thread is
 *   never seen with a half-done increment. After the sequence the flags are
 *   dead (a compiler-visible clobber nothing reads), so a thread stopped at
 *   B (ticks already counts the branch ahead) is equivalent to one stopped
 *   at B's fall-through when count != 0, and to one about to run E when
 *   count == 0.
 *   The dynamic stubs (backend/instrument/) count the same way or, where
 *   the flags are live, with a flag-free sequence through %rcx and the
 *   spill slot; their trap block is E, F and a jump back, the same protocol.
 *
 * THE TRAP, as the tracer sees it
 *   The thread stops with SIGTRAP (si_code SI_KERNEL, from int3) and
 *   trap_pending == 1. Then:
 *     - rip is the address just after the int3 byte (rip - 1 holds 0xcc);
 *     - count == 0, i.e. ticks == target, and ticks already includes the
 *       branch ahead: the program's conditional branch guarded by this
 *       sequence has NOT executed yet (for trace-pc: the basic block has
 *       been entered and __sanitizer_cov_trace_pc has not returned yet);
 *     - the next instruction is G; no instruction between here and that
 *       branch touches the page or the counter;
 *     - registers are the program's, plus the flags of A (dead).
 *   To continue: store 0 to trap_pending and resume (PTRACE_CONT etc.).
 *   Nothing else: do not move rip, do not touch registers. A new target may
 *   be set at the same time. A SIGTRAP with trap_pending == 0 is not ours
 *   (user int3, breakpoint, single-step...).
 *
 *   The target is reached by counting up to it, so it must be above ticks
 *   to fire (to stop at the very next counted event: target = ticks + 1).
 *   The trap for target T is the earliest point at which ticks == T; a
 *   position recorded as (T, registers) lies between it and the next
 *   sequence A.
 *
 * PROGRAM ACCESS
 *   Code other than the instrumentation must access the page only through
 *   volatile accesses (rrx_tick_page() below): the inline asm does not tell
 *   the compiler it reads or writes memory.
 *
 * VERSION 1 (traces before version 3) compared an unbiased count with target
 *   through a scratch register; binaries built by that plugin must be
 *   rebuilt.
 */
#ifndef RRX_TICKS_TICK_PAGE_H
#define RRX_TICKS_TICK_PAGE_H

#include <stdint.h>

#define RRX_TICK_PAGE_ADDR 0x70000000
#define RRX_TICK_PAGE_SIZE 4096
#define RRX_TICK_PAGE_MAGIC 0x6b546552 /* "ReTk" in memory */
#define RRX_TICK_PAGE_VERSION 2
#define RRX_TICK_MARKER_SECTION ".note.rrx.ticks"

/* Field offsets, spelled out for assembly (no suffixes on these numbers:
   they are stringified into assembly too). */
#define RRX_TICK_OFF_COUNT 0
#define RRX_TICK_OFF_TARGET 8
#define RRX_TICK_OFF_TRAP_PENDING 16
#define RRX_TICK_OFF_MAGIC 24
#define RRX_TICK_OFF_VERSION 28
#define RRX_TICK_OFF_SPILL 32

struct rrx_tick_page {
  uint64_t count;
  uint64_t target;
  uint64_t trap_pending;
  uint32_t magic;
  uint32_t version;
  uint64_t spill;
};

#ifdef __cplusplus
#define RRX_TICK_STATIC_ASSERT static_assert
#else
#define RRX_TICK_STATIC_ASSERT _Static_assert
#endif
RRX_TICK_STATIC_ASSERT(sizeof(struct rrx_tick_page) == 40, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, count) ==
                       RRX_TICK_OFF_COUNT, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, target) ==
                       RRX_TICK_OFF_TARGET, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page,
                                          trap_pending) ==
                       RRX_TICK_OFF_TRAP_PENDING, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, magic) ==
                       RRX_TICK_OFF_MAGIC, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, version) ==
                       RRX_TICK_OFF_VERSION, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, spill) ==
                       RRX_TICK_OFF_SPILL, "layout");
#undef RRX_TICK_STATIC_ASSERT

/* Always inlined, so that even at -O0 using it is not a call (which
   -fsanitize-coverage=trace-pc would count as a basic block). */
static inline __attribute__((always_inline)) volatile struct rrx_tick_page *
rrx_tick_page(void) {
  return (volatile struct rrx_tick_page *)(uintptr_t)RRX_TICK_PAGE_ADDR;
}

/* The thread's tick count (see THE PAGE: count is biased by target). */
static inline __attribute__((always_inline)) uint64_t
rrx_tick_count(volatile struct rrx_tick_page *page) {
  return page->count + page->target;
}

/* Traps once the count reaches `target`; UINT64_MAX never fires. */
static inline __attribute__((always_inline)) void
rrx_tick_set_target(volatile struct rrx_tick_page *page, uint64_t target) {
  uint64_t ticks = rrx_tick_count(page);
  page->target = target;
  page->count = ticks - target;
}

#define RRX_TICK_STR_(x) #x
#define RRX_TICK_STR(x) RRX_TICK_STR_(x)
#define RRX_TICK_ASM_FIELD(off) \
  RRX_TICK_STR(RRX_TICK_PAGE_ADDR) "+" RRX_TICK_STR(off)

/*
 * The instrumentation, as GNU extended-asm templates (AT&T syntax).
 * RRX_TICK_ASM_COUNT is an `asm goto` with no outputs or inputs,
 * clobbering "cc", and one label, operand 0, the trap block.
 * RRX_TICK_ASM_TRAP has no operands. Both must be volatile.
 */
#define RRX_TICK_ASM_COUNT                                     \
  "addq $1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_COUNT) "\n\t"    \
  "je %l0"

#define RRX_TICK_ASM_TRAP                                           \
  "movq $1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TRAP_PENDING) "\n\t"  \
  "int3"

/* The marker (see THE MARKER), as assembly for a comdat group `group`. */
#define RRX_TICK_ASM_MARKER(group)                                     \
  "\t.section " RRX_TICK_MARKER_SECTION ",\"aG\",@note," group ",comdat\n" \
  "\t.balign 4\n"                                                      \
  "\t.long 4, 4, 1\n"                                                  \
  "\t.asciz \"rrx\"\n"                                                 \
  "\t.long " RRX_TICK_STR(RRX_TICK_PAGE_VERSION) "\n"                  \
  "\t.previous\n"

#endif /* RRX_TICKS_TICK_PAGE_H */
