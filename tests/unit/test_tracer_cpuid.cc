// The tracer thread's own cpuid faulting (core/tracer_cpuid.h): cpuid
// answers as usual while it is on, other SIGSEGVs still reach the handler
// that was there before, and it is off again after the last holder.
#include <asm/prctl.h>
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/instruction.h"
#include "core/tracer_cpuid.h"

namespace rrx {
namespace {

// ARCH_GET_CPUID: 1 while cpuid runs normally, 0 while it faults.
long cpuid_enabled() { return syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0); }

sigjmp_buf recover;
volatile sig_atomic_t earlier_handler_ran = 0;
void earlier_handler(int) {
  earlier_handler_ran = 1;
  siglongjmp(recover, 1);
}

TEST(TracerCpuid, CpuidAnswersAsUsualWhileItFaults) {
  if (!cpuid_faulting_available()) GTEST_SKIP() << "this machine has no cpuid faulting";
  struct sigaction action = {}, old;
  action.sa_handler = earlier_handler;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGSEGV, &action, &old), 0);

  unsigned before[4], during[4], leaf7[4], leaf7_during[4];
  __cpuid(0, before[0], before[1], before[2], before[3]);
  __cpuid_count(7, 0, leaf7[0], leaf7[1], leaf7[2], leaf7[3]);
  {
    TracerCpuidFaulting outer(true);
    ASSERT_TRUE(outer.active());
    EXPECT_EQ(cpuid_enabled(), 0);
    {
      TracerCpuidFaulting inner(true);  // nested: shares it
      EXPECT_TRUE(inner.active());
    }
    EXPECT_EQ(cpuid_enabled(), 0) << "the inner holder turned it off for the outer one";
    __cpuid(0, during[0], during[1], during[2], during[3]);
    __cpuid_count(7, 0, leaf7_during[0], leaf7_during[1], leaf7_during[2], leaf7_during[3]);
    // Any other fault goes to the handler installed before.
    if (sigsetjmp(recover, 1) == 0) {
      *reinterpret_cast<volatile int*>(8) = 1;
    }
    EXPECT_EQ(earlier_handler_ran, 1);
    EXPECT_EQ(cpuid_enabled(), 0);
  }
  EXPECT_EQ(cpuid_enabled(), 1);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(during[i], before[i]) << "leaf 0, register " << i;
    EXPECT_EQ(leaf7_during[i], leaf7[i]) << "leaf 7, register " << i;
  }
  {
    TracerCpuidFaulting unwanted(false);  // (tracees that do not fault)
    EXPECT_FALSE(unwanted.active());
    EXPECT_EQ(cpuid_enabled(), 1);
  }
  // A handler installed after rrx's, which would not answer cpuid: the
  // check before a run turns faulting off, and no new holder turns it on.
  {
    TracerCpuidFaulting holder(true);
    ASSERT_TRUE(holder.active());
    holder.stop_if_unsafe();
    EXPECT_TRUE(holder.active()) << "turned off while the handler was in place";
    ASSERT_EQ(sigaction(SIGSEGV, &action, nullptr), 0);
    usleep(20000);  // (it looks at most every 10 ms)
    holder.stop_if_unsafe();
    EXPECT_FALSE(holder.active());
    EXPECT_EQ(cpuid_enabled(), 1);
    TracerCpuidFaulting replaced(true);
    EXPECT_FALSE(replaced.active());
    EXPECT_EQ(cpuid_enabled(), 1);
  }
  sigaction(SIGSEGV, &old, nullptr);
}

}  // namespace
}  // namespace rrx
