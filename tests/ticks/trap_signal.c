/* (c) The trap fires exactly when ticks reaches target, before the branch
   it counts, and the program carries on correctly once trap_pending is
   cleared. The program is its own tracer: a SIGTRAP handler plays the
   recorder's part (read the page, clear trap_pending, resume) and re-arms
   target one tick further, three times in a row.

   Built at -O0 with the plugin, the branches after arming are, in order
   (branch_count.c explains the -O0 shape):
     #1 loop test with g_i == 0, #2 the if with g_i == 0, #3 loop test with
     g_i == 1, ... so #(2J+1) is the loop test and #(2J+2) the if, with
     g_i == J.
   Traps at K = 2J+1, K+1, K+2 must therefore see g_i == J, J, J+1, and the
   if of iteration J, which runs between the second and third trap, must be
   the only change to the multiple count.

   Built with -DTRACE_PC the counted events are basic blocks, so only the
   page protocol and the completion are checked. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#include "tick_page.h"

#define N 5000
#define J 1000
#define K (2 * J + 1)
#define TRAPS 3

static volatile long g_i;
static volatile long multiples;

static volatile int hits;
static volatile uint64_t seen_ticks[TRAPS], seen_target[TRAPS],
    seen_pending[TRAPS];
static volatile long seen_i[TRAPS], seen_multiples[TRAPS];
static volatile unsigned char seen_byte[TRAPS];

/* The handler must not move the counter itself: it has no conditional
   branch, and trace-pc is told to leave it alone. */
#ifdef TRACE_PC
#define NOT_COUNTED __attribute__((no_sanitize_coverage))
#else
#define NOT_COUNTED
#endif

NOT_COUNTED static void on_sigtrap(int sig, siginfo_t *info, void *ctx) {
  volatile struct rrx_tick_page *page = rrx_tick_page();
  const ucontext_t *uc = ctx;
  int h = hits;
  seen_ticks[h] = rrx_tick_count(page);
  seen_target[h] = page->target;
  seen_pending[h] = page->trap_pending;
  seen_i[h] = g_i;
  seen_multiples[h] = multiples;
  seen_byte[h] = ((const unsigned char *)uc->uc_mcontext.gregs[REG_RIP])[-1];
  hits = h + 1;
  page->trap_pending = 0;
  /* Next counted event, while fewer than TRAPS traps were taken. */
  rrx_tick_set_target(page, rrx_tick_count(page) + (h + 1 < TRAPS));
}

__attribute__((noinline)) static void loop(long n) {
  for (g_i = 0; g_i < n; g_i++) {
    if (g_i % 3 == 0)
      multiples++;
  }
}

static int check(int cond, const char *what) {
  if (!cond)
    printf("FAIL: %s\n", what);
  return cond;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigtrap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, NULL);

  volatile struct rrx_tick_page *page = rrx_tick_page();
  uint64_t start = rrx_tick_count(page);
  rrx_tick_set_target(page, start + K);
  loop(N);

  int ok = check(hits == TRAPS, "exactly three traps") &&
           check(multiples == (N + 2) / 3, "loop result") &&
           check(page->trap_pending == 0, "trap_pending cleared");
  for (int t = 0; ok && t < TRAPS; t++) {
    ok = check(seen_pending[t] == 1, "trap_pending set at the trap") &&
         check(seen_ticks[t] == start + K + t, "ticks == start + K + t") &&
         check(seen_target[t] == seen_ticks[t], "ticks == target") &&
         check(seen_byte[t] == 0xcc, "rip just past an int3");
  }
#ifndef TRACE_PC
  long before_j = (J + 2) / 3; /* multiples of 3 in [0, J) */
  ok = ok && check(seen_i[0] == J && seen_i[1] == J && seen_i[2] == J + 1,
                   "traps at loop test J, if J, loop test J+1") &&
       check(seen_multiples[0] == before_j && seen_multiples[1] == before_j,
             "the if of iteration J has not run at its trap") &&
       check(seen_multiples[2] == before_j + (J % 3 == 0),
             "the if of iteration J ran after its trap");
#endif
  printf("%s: traps at ticks %llu, %llu, %llu (start %llu + %d)\n",
         ok ? "PASS" : "FAIL", (unsigned long long)seen_ticks[0],
         (unsigned long long)seen_ticks[1], (unsigned long long)seen_ticks[2],
         (unsigned long long)start, K);
  return !ok;
}
