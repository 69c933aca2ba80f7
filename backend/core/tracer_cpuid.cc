#include "core/tracer_cpuid.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace rrx {

namespace {

struct sigaction previous_segv;
thread_local int holders = 0;

bool set_cpuid_faulting(bool on) {
  return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1) == 0;
}

void on_segv(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  const auto* pc = reinterpret_cast<const unsigned char*>(regs[REG_RIP]);
  // A cpuid of this process that faulted (0f a2 at the pc, sent by the
  // kernel): answer it with faulting off for the moment.
  if (info->si_code == SI_KERNEL && pc && pc[0] == 0x0f && pc[1] == 0xa2) {
    int saved_errno = errno;
    set_cpuid_faulting(false);
    unsigned a, b, c, d;
    __cpuid_count(static_cast<unsigned>(regs[REG_RAX]), static_cast<unsigned>(regs[REG_RCX]), a, b,
                  c, d);
    set_cpuid_faulting(true);
    errno = saved_errno;
    regs[REG_RAX] = a;
    regs[REG_RBX] = b;
    regs[REG_RCX] = c;
    regs[REG_RDX] = d;
    regs[REG_RIP] += 2;
    return;
  }
  // Not ours: what was there before handles it. A SIGSEGV a process sent
  // (a recorded program's kill(0, SIGSEGV) reaches its whole group) is not
  // a fault of ours: with no handler before, it is passed over.
  if (previous_segv.sa_flags & SA_SIGINFO) {
    previous_segv.sa_sigaction(sig, info, context);
  } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN) {
    previous_segv.sa_handler(sig);
  } else if (info->si_code <= 0) {
    return;
  } else {
    // The fault comes again on return, with the default action.
    sigaction(SIGSEGV, &previous_segv, nullptr);
  }
}

bool install_handler() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    struct sigaction action = {};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    installed = sigaction(SIGSEGV, &action, &previous_segv) == 0;
  });
  return installed;
}

// Whether on_segv is the SIGSEGV handler now (nothing replaced it).
bool handler_in_place() {
  struct sigaction now;
  return sigaction(SIGSEGV, nullptr, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
         now.sa_sigaction == on_segv;
}

}  // namespace

TracerCpuidFaulting::TracerCpuidFaulting(bool wanted) {
  if (!wanted) return;
  thread_holders_ = &holders;
  if (holders > 0) {
    ++holders;
    active_ = true;
    return;
  }
  if (!install_handler() || !handler_in_place() || !set_cpuid_faulting(true)) return;
  holders = 1;
  active_ = true;
}

TracerCpuidFaulting::~TracerCpuidFaulting() {
  if (!active_ || thread_holders_ != &holders) return;  // (another thread's count)
  if (holders > 0 && --holders == 0) set_cpuid_faulting(false);  // (0: stopped as unsafe)
}

void TracerCpuidFaulting::stop_if_unsafe() {
  if (!active_ || thread_holders_ != &holders) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::milliseconds(10)) return;
  last_check_ = now;
  if (handler_in_place()) return;
  active_ = false;
  holders = 0;  // every holder of the thread relies on the same handler
  set_cpuid_faulting(false);
}

}  // namespace rrx
