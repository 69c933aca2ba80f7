/*
 * tick_page.h - ABI of rrx's static soft-tick counter (C and C++).
 *
 * Shared by programs built with the rrx GCC plugin (gcc_plugin/) or with
 * -fsanitize-coverage=trace-pc plus trace_pc.c, by the recorder and by the
 * replayer. See README.md in this directory for the overview.
 *
 * THE PAGE
 *   One page, RRX_TICK_PAGE_SIZE bytes at the fixed address RRX_TICK_PAGE_ADDR
 *   (0x70000000), read/write, private anonymous. Layout (little endian):
 *
 *     +0   uint64_t ticks         counted events of the running thread so far
 *     +8   uint64_t target        trap when ticks becomes equal to target
 *     +16  uint64_t trap_pending  1 from just before our int3 until the
 *                                 tracer (or a SIGTRAP handler) clears it
 *     +24  uint32_t magic         RRX_TICK_PAGE_MAGIC
 *     +28  uint32_t version       RRX_TICK_PAGE_VERSION
 *     +32  rest of the page: reserved, zero
 *
 *   There is one page per process, not per thread: under rrx only one thread
 *   runs at a time and the recorder/replayer swaps ticks, target and
 *   trap_pending in and out when it switches threads. Outside rrx threads
 *   share (and race on) the counter, which is harmless there.
 *
 *   Counted events are conditional branches (plugin; README.md lists
 *   exactly which) or basic blocks entered (trace-pc).
 *
 *   Who maps it: under rrx the recorder maps it before the program runs (and
 *   should store magic and version too).
 *   Outside rrx, every object built with the plugin carries a hidden comdat
 *   constructor (rrx_tick_page_init, in .init_array.00000, so it runs before
 *   all ordinary constructors of its executable or shared object) that does
 *   mmap(RRX_TICK_PAGE_ADDR, 4096, PROT_READ|PROT_WRITE,
 *        MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)
 *   and, only if that returned the page, stores magic, version and
 *   target = UINT64_MAX (never reached). If the mmap fails (EEXIST: the
 *   recorder or an earlier constructor mapped it) it changes nothing.
 *   trace_pc.c carries the equivalent constructor for trace-pc programs.
 *
 * WHAT THE INSTRUMENTATION EXECUTES
 *   Before every counted branch the program runs this hot sequence
 *   (RRX_TICK_ASM_COUNT), where %reg is any 64-bit general register the
 *   compiler picked as scratch:
 *
 *     A  addq $1, 0x70000000          48 83 04 25 00 00 00 70 01
 *     B  movq 0x70000000, %reg        REX.W 8b /r, modrm 00 reg 100,
 *                                     SIB 25, disp32 00 00 00 70 (8 bytes)
 *     C  cmpq 0x70000008, %reg        REX.W 3b /r, modrm 00 reg 100,
 *                                     SIB 25, disp32 08 00 00 70 (8 bytes)
 *     D  je   <trap block>            74 rel8 or 0f 84 rel32
 *
 *   and, in a cold block the je leads to (RRX_TICK_ASM_TRAP):
 *
 *     E  movq $1, 0x70000010          48 c7 04 25 10 00 00 70 01 00 00 00
 *     F  int3                         cc
 *     G  compiler glue that carries on where the not-taken je D leads
 *        (normally one jmp back; in trace_pc.c the same ret as the hot
 *        path).
 *
 *   A is the only write to ticks and is one instruction, so a thread is never
 *   seen with a half-done increment. After the sequence the scratch register
 *   and the flags are dead (compiler-visible outputs/clobbers that nothing
 *   reads), so a thread stopped at B, C or D (ticks already counts the branch
 *   ahead) is equivalent to one stopped at D's fall-through when
 *   ticks != target, and to one about to run E when ticks == target. A
 *   tracer that must not expose a thread inside the sequence can single-step
 *   until rip leaves A..D, or use that equivalence.
 *
 * THE TRAP, as the tracer sees it
 *   The thread stops with SIGTRAP (si_code SI_KERNEL, from int3) and
 *   trap_pending == 1. Then:
 *     - rip is the address just after the int3 byte (rip - 1 holds 0xcc);
 *     - ticks == target, and ticks already includes the branch ahead: the
 *       program's own conditional branch guarded by this sequence has NOT
 *       executed yet (for trace-pc: the basic block has been entered and
 *       __sanitizer_cov_trace_pc has not returned yet);
 *     - the next instruction is G; no instruction between here and that
 *       branch touches the page or the counter;
 *     - registers are the program's, plus scratch %reg == ticks and the flags
 *       of C (both dead).
 *   To continue: store 0 to trap_pending and resume (PTRACE_CONT etc.).
 *   Nothing else: do not move rip, do not touch registers. A new target may
 *   be stored at the same time. A SIGTRAP with trap_pending == 0 is not ours
 *   (user int3, breakpoint, single-step...).
 *
 *   target is compared for equality, so it must be set above ticks to fire
 *   (to stop at the very next counted event: target = ticks + 1). The trap
 *   for target T is the earliest point at which ticks == T; a position
 *   recorded as (T, registers) lies between it and the next sequence A.
 *
 * PROGRAM ACCESS
 *   Code other than the instrumentation must access the page only through
 *   volatile accesses (rrx_tick_page() below): the inline asm does not tell
 *   the compiler it reads or writes memory.
 */
#ifndef RRX_TICKS_TICK_PAGE_H
#define RRX_TICKS_TICK_PAGE_H

#include <stdint.h>

#define RRX_TICK_PAGE_ADDR 0x70000000
#define RRX_TICK_PAGE_SIZE 4096
#define RRX_TICK_PAGE_MAGIC 0x6b546552 /* "ReTk" in memory */
#define RRX_TICK_PAGE_VERSION 1

/* Field offsets, spelled out for assembly (no suffixes on these numbers:
   they are stringified into assembly too). */
#define RRX_TICK_OFF_TICKS 0
#define RRX_TICK_OFF_TARGET 8
#define RRX_TICK_OFF_TRAP_PENDING 16
#define RRX_TICK_OFF_MAGIC 24
#define RRX_TICK_OFF_VERSION 28

struct rrx_tick_page {
  uint64_t ticks;
  uint64_t target;
  uint64_t trap_pending;
  uint32_t magic;
  uint32_t version;
};

#ifdef __cplusplus
#define RRX_TICK_STATIC_ASSERT static_assert
#else
#define RRX_TICK_STATIC_ASSERT _Static_assert
#endif
RRX_TICK_STATIC_ASSERT(sizeof(struct rrx_tick_page) == 32, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, ticks) ==
                       RRX_TICK_OFF_TICKS, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, target) ==
                       RRX_TICK_OFF_TARGET, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page,
                                          trap_pending) ==
                       RRX_TICK_OFF_TRAP_PENDING, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, magic) ==
                       RRX_TICK_OFF_MAGIC, "layout");
RRX_TICK_STATIC_ASSERT(__builtin_offsetof(struct rrx_tick_page, version) ==
                       RRX_TICK_OFF_VERSION, "layout");
#undef RRX_TICK_STATIC_ASSERT

/* Always inlined, so that even at -O0 using it is not a call (which
   -fsanitize-coverage=trace-pc would count as a basic block). */
static inline __attribute__((always_inline)) volatile struct rrx_tick_page *
rrx_tick_page(void) {
  return (volatile struct rrx_tick_page *)(uintptr_t)RRX_TICK_PAGE_ADDR;
}

#define RRX_TICK_STR_(x) #x
#define RRX_TICK_STR(x) RRX_TICK_STR_(x)
#define RRX_TICK_ASM_FIELD(off) \
  RRX_TICK_STR(RRX_TICK_PAGE_ADDR) "+" RRX_TICK_STR(off)

/*
 * The instrumentation, as GNU extended-asm templates (AT&T syntax).
 * RRX_TICK_ASM_COUNT is an `asm goto` with one output, operand 0, a 64-bit
 * scratch register ("=r"), clobbering "cc", and one label, operand 1, the
 * trap block. RRX_TICK_ASM_TRAP has no operands. Both must be volatile:
 * GCC deletes an asm goto whose outputs are unused unless it is.
 */
#define RRX_TICK_ASM_COUNT                                     \
  "addq $1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TICKS) "\n\t"    \
  "movq " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TICKS) ", %0\n\t"    \
  "cmpq " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TARGET) ", %0\n\t"   \
  "je %l1"

#define RRX_TICK_ASM_TRAP                                           \
  "movq $1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TRAP_PENDING) "\n\t"  \
  "int3"

#endif /* RRX_TICKS_TICK_PAGE_H */
