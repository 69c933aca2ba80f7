/* (c) The trap as a real tracer sees it, with the recorder's protocol
   (tick_page.h, "THE TRAP"): the child stops, the tracer arms target via
   ptrace, and on the SIGTRAP checks trap_pending, ticks and rip, clears
   trap_pending and continues; the child must then finish correctly.

   Built at -O0: after the child's raise(SIGSTOP) the first counted branches
   are those of loop(), and branch #(2J+1) is its loop test with g_i == J
   (see branch_count.c and trap_signal.c). */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tick_page.h"

#define N 5000
#define J 1234
#define K (2 * J + 1)

static volatile long g_i;
static volatile long multiples;

__attribute__((noinline)) static void loop(long n) {
  for (g_i = 0; g_i < n; g_i++) {
    if (g_i % 3 == 0)
      multiples++;
  }
}

static void child(void) {
  ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  raise(SIGSTOP);
  loop(N);
  _exit(multiples == (N + 2) / 3 ? 42 : 1);
}

static uint64_t peek(pid_t pid, uintptr_t addr) {
  return (uint64_t)ptrace(PTRACE_PEEKDATA, pid, (void *)addr, NULL);
}

static void poke(pid_t pid, uintptr_t addr, uint64_t value) {
  ptrace(PTRACE_POKEDATA, pid, (void *)addr, (void *)value);
}

#define FIELD(name) \
  ((uintptr_t)RRX_TICK_PAGE_ADDR + offsetof(struct rrx_tick_page, name))

/* ticks = count + target (tick_page.h, THE PAGE). */
static uint64_t peek_ticks(pid_t pid) {
  return peek(pid, FIELD(count)) + peek(pid, FIELD(target));
}

static void poke_target(pid_t pid, uint64_t target) {
  uint64_t ticks = peek_ticks(pid);
  poke(pid, FIELD(target), target);
  poke(pid, FIELD(count), ticks - target);
}

static int fail(const char *what) {
  printf("FAIL: %s\n", what);
  return 1;
}

int main(void) {
  pid_t pid = fork();
  if (pid == 0)
    child();

  int status;
  waitpid(pid, &status, 0);
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
    return fail("child did not stop");
  uint64_t start = peek_ticks(pid);
  poke_target(pid, start + K);
  ptrace(PTRACE_CONT, pid, NULL, NULL);

  waitpid(pid, &status, 0);
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
    return fail("no SIGTRAP");
  struct user_regs_struct regs;
  ptrace(PTRACE_GETREGS, pid, NULL, &regs);
  uint64_t ticks = peek_ticks(pid);
  if (peek(pid, FIELD(trap_pending)) != 1)
    return fail("trap_pending is not 1");
  if (ticks != start + K || peek(pid, FIELD(target)) != ticks)
    return fail("ticks != start + K");
  if ((peek(pid, regs.rip - 1) & 0xff) != 0xcc)
    return fail("rip is not just past an int3");
  if ((long)peek(pid, (uintptr_t)&g_i) != J)
    return fail("not at the loop test of iteration J");

  poke(pid, FIELD(trap_pending), 0);
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
    return fail("child did not complete correctly");
  printf("PASS: trap at tick %llu = start %llu + %d, rip %#llx\n",
         (unsigned long long)ticks, (unsigned long long)start, K,
         (unsigned long long)regs.rip);
  return 0;
}
