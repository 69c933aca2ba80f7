// segv_handler_rdtsc: rdtsc with SIGSEGV blocked (and with it ignored).
// Natively rdtsc does not fault; under rrx it traps, and the kernel, as for
// a real fault, unblocks SIGSEGV and resets its action. The program checks
// that its handler, its mask and its "ignore" survive, then takes a real
// fault on a read-only page, which its handler repairs. Last it execs
// itself with SIGSEGV blocked (default action): the mask must survive the
// new image's traps too. It exits 1 if what it checked was not as without
// rrx.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

static char* page;
static long page_size;

static void repair(int sig, siginfo_t* info, void* context) {
  (void)sig, (void)context;
  char line[64];
  int n = snprintf(line, sizeof line, "fault at the page: %s\n",
                   (char*)info->si_addr == page ? "yes" : "no");
  write(1, line, n);
  mprotect(page, page_size, PROT_READ | PROT_WRITE);
}

static const char* action_now(void) {
  struct sigaction now;
  sigaction(SIGSEGV, NULL, &now);
  if (now.sa_handler == SIG_DFL) return "default";
  if (now.sa_handler == SIG_IGN) return "ignored";
  return now.sa_sigaction == repair ? "our handler" : "another handler";
}

static int after_exec(void) {
  uint64_t t = __rdtsc();
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("after exec and rdtsc (%s): SIGSEGV %s\n", t ? "ran" : "zero",
         sigismember(&now, SIGSEGV) ? "still blocked" : "unblocked");
  return !sigismember(&now, SIGSEGV);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1) return after_exec();
  page_size = sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = repair;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, NULL);

  sigset_t segv, old, now;
  sigemptyset(&segv);
  sigaddset(&segv, SIGSEGV);
  sigprocmask(SIG_BLOCK, &segv, &old);
  uint64_t t1 = __rdtsc();
  sigprocmask(SIG_BLOCK, NULL, &now);
  int wrong = !sigismember(&now, SIGSEGV) || strcmp(action_now(), "our handler") != 0;
  printf("after rdtsc: SIGSEGV %s, action: %s\n",
         sigismember(&now, SIGSEGV) ? "still blocked" : "unblocked", action_now());
  sigprocmask(SIG_SETMASK, &old, NULL);

  signal(SIGSEGV, SIG_IGN);
  uint64_t t2 = __rdtsc();
  wrong |= strcmp(action_now(), "ignored") != 0;
  printf("ignored, after rdtsc: action: %s\n", action_now());
  printf("rdtsc counts up: %s\n", t2 > t1 ? "yes" : "no");

  sigaction(SIGSEGV, &action, NULL);
  page = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  page[0] = 'x';  // faults once; the handler makes the page writable
  printf("wrote '%c' after the handler\n", page[0]);
  if (wrong) return 1;
  signal(SIGSEGV, SIG_DFL);
  sigprocmask(SIG_BLOCK, &segv, NULL);
  execl("/proc/self/exe", argv[0], "after-exec", (char*)NULL);
  return 1;
}
