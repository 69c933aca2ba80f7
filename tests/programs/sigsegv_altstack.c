// sigsegv_altstack: three deliberate SIGSEGVs, each handled on an alternate
// signal stack (sigaltstack + SA_ONSTACK) by a handler that records the
// fault address and siglongjmps back. Synchronous signals that the replay
// must deliver at exactly the same instruction.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static sigjmp_buf env;
static char* alt_base;
static size_t alt_size;
static volatile void* fault_addr;
static volatile int on_altstack;

static void handler(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  char local;
  fault_addr = si->si_addr;
  on_altstack = &local >= alt_base && &local < alt_base + alt_size;
  siglongjmp(env, 1);
}

int main(void) {
  alt_size = 64 * 1024;
  alt_base = malloc(alt_size);
  stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 1; }
  struct sigaction sa = {0};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0) { perror("sigaction"); return 1; }

  static const uintptr_t targets[] = {0x10, 0x1008, 0xdead000};
  for (int i = 0; i < 3; i++) {
    if (sigsetjmp(env, 1) == 0) {
      volatile int* p = (volatile int*)targets[i];
      if (i == 1) *p = 42;          // a write fault
      else (void)*p;                // read faults
      printf("fault %d did not happen!\n", i);
    } else {
      printf("fault %d at %p, handler on altstack: %s\n", i, (void*)fault_addr,
             on_altstack ? "yes" : "no");
    }
  }
  stack_t cur;
  sigaltstack(NULL, &cur);
  printf("altstack still set: %s, not in use: %s\n",
         cur.ss_sp == alt_base ? "yes" : "no", cur.ss_flags == 0 ? "yes" : "no");
  return 0;
}
