// Displaced steps (replay/displaced_steps.h) on a live traced child: a
// breakpoint stepped over by running a copy of its instruction from the
// preload page's spare bytes, hit many times; a copy that faults, and one
// that fires a watchpoint, stop where the instruction in place would have.
// The child maps the preload page itself (as rrx does in a buffered
// replay) and computes the expected results natively.
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "core/registers.h"
#include "core/task.h"
#include "preload/syscallbuf_abi.h"
#include "replay/breakpoints.h"
#include "replay/displaced_steps.h"

extern "C" {
// The child's work, each piece at a named instruction (the labels are what
// the parent puts its breakpoints on).
void rrx_test_add3(long* p);      // add_site: addq $3, (%rdi) (plain)
void rrx_test_count();            // riprel_site: addq $1, counter(%rip)
long rrx_test_load(long address); // load_site: movq (%rdi), %rax
void rrx_test_store(long* p);     // store_site: movq $77, (%rdi)
extern const char add_site[], load_site[], after_load[], store_site[], riprel_site[];
volatile long rrx_test_global_counter;
volatile long rrx_test_watched;
}
asm(R"(
  .text
  .globl rrx_test_add3, rrx_test_count, rrx_test_load, rrx_test_store
  .globl add_site, riprel_site, load_site, after_load, store_site
rrx_test_add3:
add_site:
  addq $3, (%rdi)
  ret
rrx_test_count:
riprel_site:
  addq $1, rrx_test_global_counter(%rip)
  ret
rrx_test_load:
load_site:
  movq (%rdi), %rax
after_load:
  ret
rrx_test_store:
store_site:
  movq $77, (%rdi)
  ret
)");

namespace rrx {
namespace {

constexpr long kHits = 5000;

// The child's SIGSEGV handler notes whether the fault's pc is the load's.
volatile sig_atomic_t fault_pc_ok = 0;

void on_segv(int, siginfo_t*, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  fault_pc_ok = uc->uc_mcontext.gregs[REG_RIP] == reinterpret_cast<greg_t>(load_site);
  uc->uc_mcontext.gregs[REG_RIP] = reinterpret_cast<greg_t>(after_load);
}

// Exit status 0 if every value came out as computed natively.
[[noreturn]] void child() {
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  void* page = mmap(reinterpret_cast<void*>(RRX_PRELOAD_PAGE_ADDR), RRX_PRELOAD_PAGE_SIZE,
                    PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page == MAP_FAILED) _exit(10);
  struct sigaction action = {};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, nullptr);
  raise(SIGSTOP);
  long sum = 0;
  for (long i = 0; i < kHits; ++i) {
    rrx_test_add3(&sum);
    rrx_test_count();
  }
  rrx_test_load(8);  // faults; the handler goes on at after_load
  rrx_test_store(const_cast<long*>(&rrx_test_watched));
  bool ok = sum == 3 * kHits && rrx_test_global_counter == kHits && fault_pc_ok && rrx_test_watched == 77;
  _exit(ok ? 0 : 1);
}

struct Traced {
  pid_t pid = -1;
  std::unique_ptr<Task> task;
  ~Traced() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

bool start(Traced* t) {
  t->pid = fork();
  if (t->pid == 0) child();
  int status;
  if (waitpid(t->pid, &status, 0) != t->pid || !WIFSTOPPED(status)) return false;
  t->task = std::make_unique<Task>(t->pid);
  t->task->cache_registers();
  return true;
}

uint64_t addr(const char* site) { return reinterpret_cast<uint64_t>(site); }

TEST(DisplacedSteps, BreakpointHitManyTimesRunsFromItsCopy) {
  Traced t;
  ASSERT_TRUE(start(&t));
  Task& task = *t.task;
  Breakpoints breakpoints;
  DisplacedSteps displaced(true);
  ASSERT_TRUE(breakpoints.insert(task, addr(add_site)));
  ASSERT_TRUE(breakpoints.insert(task, addr(riprel_site)));
  // A rip-relative operand would read elsewhere from the copy: no copy.
  EXPECT_EQ(displaced.prepare(task, 1, addr(riprel_site), breakpoints).copy, 0u);
  long add_hits = 0, riprel_hits = 0;
  uint64_t stepping_off = 0;  // the rip-relative one: lifted and stepped
  ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, nullptr), 0);
  for (;;) {
    int status;
    ASSERT_EQ(waitpid(t.pid, &status, 0), t.pid);
    task.forget_registers();
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0) << "the child computed other values than natively";
      t.pid = -1;
      break;
    }
    ASSERT_TRUE(WIFSTOPPED(status));
    int sig = WSTOPSIG(status);
    Registers regs;
    ASSERT_TRUE(task.get_regs(&regs));
    if (stepping_off) {
      breakpoints.install_one(task, stepping_off);
      stepping_off = 0;
    } else if (sig == SIGTRAP && regs.rip - 1 == addr(add_site)) {
      ++add_hits;
      DisplacedSteps::Step step = displaced.prepare(task, 1, addr(add_site), breakpoints);
      ASSERT_NE(step.copy, 0u);
      EXPECT_GE(step.copy, RRX_DISPLACED_STEP_ADDR);
      EXPECT_LT(step.copy, RRX_DISPLACED_STEP_ADDR + RRX_DISPLACED_STEP_SIZE);
      regs.rip = step.copy;
      ASSERT_TRUE(task.set_regs(regs));
    } else if (sig == SIGTRAP && regs.rip - 1 == addr(riprel_site)) {
      ++riprel_hits;
      regs.rip -= 1;
      ASSERT_TRUE(task.set_regs(regs));
      breakpoints.uninstall_one(task, regs.rip);
      stepping_off = regs.rip;
      ASSERT_EQ(ptrace(PTRACE_SINGLESTEP, t.pid, nullptr, nullptr), 0);
      continue;
    }
    int deliver = sig == SIGTRAP || sig == SIGSTOP ? 0 : sig;
    ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, reinterpret_cast<void*>(long{deliver})), 0);
  }
  EXPECT_EQ(add_hits, kHits);
  EXPECT_EQ(riprel_hits, kHits);
}

// Waits for the child's next stop; its signal.
int next_stop(Traced& t) {
  int status;
  if (waitpid(t.pid, &status, 0) != t.pid || !WIFSTOPPED(status)) return -1;
  t.task->forget_registers();
  return WSTOPSIG(status);
}

TEST(DisplacedSteps, FaultAndWatchpointInACopyStopAtTheProgramsPc) {
  Traced t;
  ASSERT_TRUE(start(&t));
  Task& task = *t.task;
  Breakpoints breakpoints;
  DisplacedSteps displaced(true);
  ASSERT_TRUE(breakpoints.insert(task, addr(load_site)));
  ASSERT_TRUE(breakpoints.insert(task, addr(store_site)));
  ASSERT_TRUE(program_watchpoints(
      task, {{reinterpret_cast<uint64_t>(&rrx_test_watched), 8, WatchKind::kWrite}}));
  Registers regs;
  auto displace_from_breakpoint = [&](const char* site, DisplacedSteps::Step* step) {
    ASSERT_EQ(next_stop(t), SIGTRAP);
    ASSERT_TRUE(task.get_regs(&regs));
    ASSERT_EQ(regs.rip - 1, addr(site));
    *step = displaced.prepare(task, 1, addr(site), breakpoints);
    ASSERT_NE(step->copy, 0u);
    regs.rip = step->copy;
    ASSERT_TRUE(task.set_regs(regs));
    ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, nullptr), 0);
  };
  ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, nullptr), 0);

  // The load from address 8 faults in its copy: settle() puts the pc back
  // on the instruction, and the child's SIGSEGV handler checks it sees it
  // there (as natively).
  DisplacedSteps::Step step;
  displace_from_breakpoint(load_site, &step);
  ASSERT_EQ(next_stop(t), SIGSEGV);
  ASSERT_TRUE(task.get_regs(&regs));
  EXPECT_EQ(regs.rip, step.copy);
  DisplacedSteps::settle(task, step);
  ASSERT_TRUE(task.get_regs(&regs));
  EXPECT_EQ(regs.rip, addr(load_site));
  ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, reinterpret_cast<void*>(long{SIGSEGV})), 0);

  // The store fires the write watchpoint from its copy: the trap comes
  // after it ran, and settle() puts the pc right after it in the program.
  displace_from_breakpoint(store_site, &step);
  ASSERT_EQ(next_stop(t), SIGTRAP);
  ASSERT_TRUE(task.get_regs(&regs));
  EXPECT_EQ(regs.rip, step.copy + step.length);
  EXPECT_EQ(triggered_watchpoint(task), 0);
  DisplacedSteps::settle(task, step);
  ASSERT_TRUE(task.get_regs(&regs));
  EXPECT_EQ(regs.rip, addr(store_site) + step.length);

  ASSERT_EQ(ptrace(PTRACE_CONT, t.pid, nullptr, nullptr), 0);
  int status;
  ASSERT_EQ(waitpid(t.pid, &status, 0), t.pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child computed other values than natively";
  t.pid = -1;
}

TEST(DisplacedSteps, DebuggerReadsShowZerosWhereTheCopiesAre) {
  DisplacedSteps on(true), off(false);
  uint8_t data[64];
  memset(data, 0xaa, sizeof data);
  on.shadow(RRX_DISPLACED_STEP_ADDR - 32, data, sizeof data);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(data[i], 0xaa) << i;
  for (size_t i = 32; i < 64; ++i) EXPECT_EQ(data[i], 0) << i;
  memset(data, 0xaa, sizeof data);
  off.shadow(RRX_DISPLACED_STEP_ADDR, data, sizeof data);
  EXPECT_EQ(data[0], 0xaa);
}

}  // namespace
}  // namespace rrx
