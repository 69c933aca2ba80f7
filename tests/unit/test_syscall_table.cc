// Tests for the x86-64 syscall table: coverage and numbering against
// <sys/syscall.h>, policies, and the output rules run against a fake
// tracee memory.
#include <asm/termbits.h>  // TCGETS2's struct termios2
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/if_bridge.h>
#include <linux/keyctl.h>
#include <linux/quota.h>
#include <linux/sched.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ostream>
#include <set>
#include <string>

#include "syscalls/syscall_table.h"

namespace rrx {

bool operator==(const MemRegion& a, const MemRegion& b) {
  return a.addr == b.addr && a.len == b.len;
}

void PrintTo(const MemRegion& r, std::ostream* os) {
  *os << "{0x" << std::hex << r.addr << ", " << std::dec << r.len << "}";
}

namespace {

using Regions = std::vector<MemRegion>;

// Every syscall this glibc's <sys/syscall.h> names (kernel 6.1 headers).
// clang-format off
#define SYSCALLS_IN_HEADER(X) \
  X(read) X(write) X(open) X(close) X(stat) X(fstat) X(lstat) X(poll) \
  X(lseek) X(mmap) X(mprotect) X(munmap) X(brk) X(rt_sigaction) \
  X(rt_sigprocmask) X(rt_sigreturn) X(ioctl) X(pread64) X(pwrite64) X(readv) \
  X(writev) X(access) X(pipe) X(select) X(sched_yield) X(mremap) X(msync) \
  X(mincore) X(madvise) X(shmget) X(shmat) X(shmctl) X(dup) X(dup2) X(pause) \
  X(nanosleep) X(getitimer) X(alarm) X(setitimer) X(getpid) X(sendfile) \
  X(socket) X(connect) X(accept) X(sendto) X(recvfrom) X(sendmsg) X(recvmsg) \
  X(shutdown) X(bind) X(listen) X(getsockname) X(getpeername) X(socketpair) \
  X(setsockopt) X(getsockopt) X(clone) X(fork) X(vfork) X(execve) X(exit) \
  X(wait4) X(kill) X(uname) X(semget) X(semop) X(semctl) X(shmdt) X(msgget) \
  X(msgsnd) X(msgrcv) X(msgctl) X(fcntl) X(flock) X(fsync) X(fdatasync) \
  X(truncate) X(ftruncate) X(getdents) X(getcwd) X(chdir) X(fchdir) X(rename) \
  X(mkdir) X(rmdir) X(creat) X(link) X(unlink) X(symlink) X(readlink) \
  X(chmod) X(fchmod) X(chown) X(fchown) X(lchown) X(umask) X(gettimeofday) \
  X(getrlimit) X(getrusage) X(sysinfo) X(times) X(ptrace) X(getuid) X(syslog) \
  X(getgid) X(setuid) X(setgid) X(geteuid) X(getegid) X(setpgid) X(getppid) \
  X(getpgrp) X(setsid) X(setreuid) X(setregid) X(getgroups) X(setgroups) \
  X(setresuid) X(getresuid) X(setresgid) X(getresgid) X(getpgid) X(setfsuid) \
  X(setfsgid) X(getsid) X(capget) X(capset) X(rt_sigpending) \
  X(rt_sigtimedwait) X(rt_sigqueueinfo) X(rt_sigsuspend) X(sigaltstack) \
  X(utime) X(mknod) X(uselib) X(personality) X(ustat) X(statfs) X(fstatfs) \
  X(sysfs) X(getpriority) X(setpriority) X(sched_setparam) X(sched_getparam) \
  X(sched_setscheduler) X(sched_getscheduler) X(sched_get_priority_max) \
  X(sched_get_priority_min) X(sched_rr_get_interval) X(mlock) X(munlock) \
  X(mlockall) X(munlockall) X(vhangup) X(modify_ldt) X(pivot_root) X(_sysctl) \
  X(prctl) X(arch_prctl) X(adjtimex) X(setrlimit) X(chroot) X(sync) X(acct) \
  X(settimeofday) X(mount) X(umount2) X(swapon) X(swapoff) X(reboot) \
  X(sethostname) X(setdomainname) X(iopl) X(ioperm) X(create_module) \
  X(init_module) X(delete_module) X(get_kernel_syms) X(query_module) \
  X(quotactl) X(nfsservctl) X(getpmsg) X(putpmsg) X(afs_syscall) X(tuxcall) \
  X(security) X(gettid) X(readahead) X(setxattr) X(lsetxattr) X(fsetxattr) \
  X(getxattr) X(lgetxattr) X(fgetxattr) X(listxattr) X(llistxattr) \
  X(flistxattr) X(removexattr) X(lremovexattr) X(fremovexattr) X(tkill) \
  X(time) X(futex) X(sched_setaffinity) X(sched_getaffinity) \
  X(set_thread_area) X(io_setup) X(io_destroy) X(io_getevents) X(io_submit) \
  X(io_cancel) X(get_thread_area) X(lookup_dcookie) X(epoll_create) \
  X(epoll_ctl_old) X(epoll_wait_old) X(remap_file_pages) X(getdents64) \
  X(set_tid_address) X(restart_syscall) X(semtimedop) X(fadvise64) \
  X(timer_create) X(timer_settime) X(timer_gettime) X(timer_getoverrun) \
  X(timer_delete) X(clock_settime) X(clock_gettime) X(clock_getres) \
  X(clock_nanosleep) X(exit_group) X(epoll_wait) X(epoll_ctl) X(tgkill) \
  X(utimes) X(vserver) X(mbind) X(set_mempolicy) X(get_mempolicy) X(mq_open) \
  X(mq_unlink) X(mq_timedsend) X(mq_timedreceive) X(mq_notify) \
  X(mq_getsetattr) X(kexec_load) X(waitid) X(add_key) X(request_key) \
  X(keyctl) X(ioprio_set) X(ioprio_get) X(inotify_init) X(inotify_add_watch) \
  X(inotify_rm_watch) X(migrate_pages) X(openat) X(mkdirat) X(mknodat) \
  X(fchownat) X(futimesat) X(newfstatat) X(unlinkat) X(renameat) X(linkat) \
  X(symlinkat) X(readlinkat) X(fchmodat) X(faccessat) X(pselect6) X(ppoll) \
  X(unshare) X(set_robust_list) X(get_robust_list) X(splice) X(tee) \
  X(sync_file_range) X(vmsplice) X(move_pages) X(utimensat) X(epoll_pwait) \
  X(signalfd) X(timerfd_create) X(eventfd) X(fallocate) X(timerfd_settime) \
  X(timerfd_gettime) X(accept4) X(signalfd4) X(eventfd2) X(epoll_create1) \
  X(dup3) X(pipe2) X(inotify_init1) X(preadv) X(pwritev) X(rt_tgsigqueueinfo) \
  X(perf_event_open) X(recvmmsg) X(fanotify_init) X(fanotify_mark) \
  X(prlimit64) X(name_to_handle_at) X(open_by_handle_at) X(clock_adjtime) \
  X(syncfs) X(sendmmsg) X(setns) X(getcpu) X(process_vm_readv) \
  X(process_vm_writev) X(kcmp) X(finit_module) X(sched_setattr) \
  X(sched_getattr) X(renameat2) X(seccomp) X(getrandom) X(memfd_create) \
  X(kexec_file_load) X(bpf) X(execveat) X(userfaultfd) X(membarrier) \
  X(mlock2) X(copy_file_range) X(preadv2) X(pwritev2) X(pkey_mprotect) \
  X(pkey_alloc) X(pkey_free) X(statx) X(io_pgetevents) X(rseq) \
  X(pidfd_send_signal) X(io_uring_setup) X(io_uring_enter) \
  X(io_uring_register) X(open_tree) X(move_mount) X(fsopen) X(fsconfig) \
  X(fsmount) X(fspick) X(pidfd_open) X(clone3) X(close_range) X(openat2) \
  X(pidfd_getfd) X(faccessat2) X(process_madvise) X(epoll_pwait2) \
  X(mount_setattr) X(quotactl_fd) X(landlock_create_ruleset) \
  X(landlock_add_rule) X(landlock_restrict_self) X(memfd_secret) \
  X(process_mrelease) X(futex_waitv) X(set_mempolicy_home_node)
// clang-format on

// Tracee memory backed by a local buffer mapped at kBase.
class FakeMemory : public TraceeMemory {
 public:
  static constexpr uint64_t kBase = 0x7f0000001000;

  bool read(uint64_t addr, void* buf, size_t len) override {
    if (addr < kBase || addr - kBase + len > sizeof bytes_) return false;
    std::memcpy(buf, bytes_ + (addr - kBase), len);
    return true;
  }

  template <class T>
  void put(uint64_t addr, const T& value) {
    ASSERT_TRUE(addr >= kBase && addr - kBase + sizeof value <= sizeof bytes_);
    std::memcpy(bytes_ + (addr - kBase), &value, sizeof value);
  }

  static uint64_t at(uint64_t offset) { return kBase + offset; }

 private:
  uint8_t bytes_[8192] = {};
};

void* as_ptr(uint64_t addr) { return reinterpret_cast<void*>(addr); }

const SyscallDesc& desc(std::string_view name) {
  const SyscallDesc* d = syscall_lookup(name);
  EXPECT_NE(d, nullptr) << name;
  static const SyscallDesc kNone{};
  return d ? *d : kNone;
}

SyscallCall make_call(std::string_view name,
                      std::initializer_list<uint64_t> args,
                      int64_t result = 0) {
  SyscallCall call;
  call.number = desc(name).number;
  std::copy(args.begin(), args.end(), call.args);
  call.result = result;
  return call;
}

EntryVerdict run_entry(SyscallCall& call, TraceeMemory& mem) {
  auto* rule = syscall_lookup(call.number)->at_entry;
  return rule ? rule(call, mem) : EntryVerdict{};
}

Regions outputs_of(const SyscallCall& call, TraceeMemory& mem) {
  Regions out;
  if (auto* rule = syscall_lookup(call.number)->outputs) rule(call, mem, out);
  return out;
}

// ---- Table structure -------------------------------------------------------

TEST(SyscallTable, LookupByNumberAndNameAgree) {
  ASSERT_FALSE(syscall_all().empty());
  for (const SyscallDesc* d : syscall_all()) {
    EXPECT_EQ(syscall_lookup(d->number), d) << d->name;
    EXPECT_EQ(syscall_lookup(std::string_view(d->name)), d) << d->name;
    EXPECT_EQ(syscall_name(d->number), d->name);
  }
}

TEST(SyscallTable, AllIsInNumberOrderWithUniqueNames) {
  std::set<std::string> names;
  int previous = -1;
  for (const SyscallDesc* d : syscall_all()) {
    EXPECT_GT(d->number, previous) << d->name;
    previous = d->number;
    EXPECT_TRUE(names.insert(d->name).second) << "duplicate " << d->name;
  }
}

TEST(SyscallTable, NumbersMatchSysSyscallH) {
  int checked = 0;
#define CHECK_SYSCALL(name)                                         \
  {                                                                 \
    const SyscallDesc* d = syscall_lookup(std::string_view(#name)); \
    ASSERT_NE(d, nullptr) << "missing " #name;                      \
    EXPECT_EQ(d->number, SYS_##name) << #name;                      \
    ++checked;                                                      \
  }
  SYSCALLS_IN_HEADER(CHECK_SYSCALL)
#undef CHECK_SYSCALL
  EXPECT_EQ(checked, 362);
}

TEST(SyscallTable, CoversEveryX86_64Number) {
  // 335..423 are unused on x86-64 (the numbers other ABIs share start at 424).
  for (int nr = 0; nr <= 462; ++nr) {
    if (nr > SYS_rseq && nr < SYS_pidfd_send_signal) {
      EXPECT_EQ(syscall_lookup(nr), nullptr) << nr;
      continue;
    }
    EXPECT_NE(syscall_lookup(nr), nullptr) << "no entry for " << nr;
  }
  EXPECT_EQ(desc("mseal").number, 462);
  EXPECT_EQ(desc("cachestat").number, 451);
}

TEST(SyscallTable, UnknownSyscalls) {
  // Past the table but where a newer kernel may add calls: refused.
  EXPECT_EQ(syscall_lookup(500), nullptr);
  EXPECT_EQ(syscall_lookup(0x40000000 + 600), nullptr);  // x32 range
  EXPECT_EQ(syscall_lookup(std::string_view("no_such_call")), nullptr);
  EXPECT_EQ(syscall_name(999), "syscall 999");
  EXPECT_EQ(syscall_name(SYS_openat), "openat");
  // Numbers no x86-64 kernel has: denied with ENOSYS, as the kernel does.
  for (int nr : {-1, -100, 512, 999, 1008, 0x3fffffff, 0x40000000 + 1024, 0x7fffffff}) {
    const SyscallDesc* d = syscall_lookup(nr);
    ASSERT_NE(d, nullptr) << nr;
    EXPECT_EQ(d->record, RecordPolicy::kDenyENOSYS) << nr;
    EXPECT_EQ(d->replay, ReplayAction::kEmulate) << nr;
    EXPECT_EQ(syscall_name(nr), "syscall " + std::to_string(nr));
  }
}

// ---- Policies
// ----------------------------------------------------------------

TEST(SyscallPolicy, DeniedAndUnsupported) {
  for (const char* name : {"rseq", "io_uring_setup", "io_uring_enter", "bpf", "userfaultfd",
                           "pidfd_getfd", "kexec_load"})
    EXPECT_EQ(desc(name).record, RecordPolicy::kDenyENOSYS) << name;
  for (const char* name : {"remap_file_pages", "pkey_mprotect"})
    EXPECT_EQ(desc(name).record, RecordPolicy::kUnsupported) << name;
  // They change what instructions do: recorded, and run again in replay.
  for (const char* name : {"modify_ldt", "iopl", "ioperm"}) {
    EXPECT_EQ(desc(name).record, RecordPolicy::kRecord) << name;
    EXPECT_EQ(desc(name).replay, ReplayAction::kExecute) << name;
  }
  for (const char* name : {"read", "openat", "mmap", "clone", "futex", "ioctl", "process_vm_readv",
                           "seccomp", "ptrace", "perf_event_open", "keyctl", "add_key", "fsopen",
                           "fsmount", "quotactl"})
    EXPECT_EQ(desc(name).record, RecordPolicy::kRecord) << name;
}

TEST(SyscallPolicy, ReplayActions) {
  const std::pair<const char*, ReplayAction> expected[] = {
      {"mmap", ReplayAction::kMmap},
      {"mremap", ReplayAction::kMremap},
      {"execve", ReplayAction::kExecve},
      {"execveat", ReplayAction::kExecve},
      {"fork", ReplayAction::kFork},
      {"vfork", ReplayAction::kFork},
      {"clone", ReplayAction::kFork},
      {"clone3", ReplayAction::kFork},
      {"exit", ReplayAction::kExit},
      {"exit_group", ReplayAction::kExit},
      {"rt_sigreturn", ReplayAction::kSigreturn},
      {"brk", ReplayAction::kExecute},
      {"munmap", ReplayAction::kExecute},
      {"mprotect", ReplayAction::kExecute},
      {"madvise", ReplayAction::kExecute},
      {"arch_prctl", ReplayAction::kExecute},
      {"set_tid_address", ReplayAction::kExecute},
      {"set_robust_list", ReplayAction::kExecute},
      {"rt_sigaction", ReplayAction::kExecute},
      {"rt_sigprocmask", ReplayAction::kExecute},
      {"sigaltstack", ReplayAction::kExecute},
      {"shmat", ReplayAction::kShmat},
      {"shmdt", ReplayAction::kExecute},
      {"shmget", ReplayAction::kEmulate},
      {"read", ReplayAction::kEmulate},
      {"openat", ReplayAction::kEmulate},
      {"futex", ReplayAction::kEmulate},
      {"wait4", ReplayAction::kEmulate},
      {"prctl", ReplayAction::kEmulate},
      {"mlock", ReplayAction::kExecute},
      {"modify_ldt", ReplayAction::kExecute},
  };
  for (const auto& [name, action] : expected)
    EXPECT_EQ(desc(name).replay, action) << name;
}

TEST(SyscallPolicy, OnlyWritesCarryFdData) {
  for (const SyscallDesc* d : syscall_all()) {
    const std::string name = d->name;
    FdWriteData expected = FdWriteData::kNone;
    if (name == "write" || name == "pwrite64") expected = FdWriteData::kBuffer;
    if (name == "writev" || name == "pwritev" || name == "pwritev2")
      expected = FdWriteData::kIovec;
    EXPECT_EQ(d->fd_write, expected) << name;
  }
}

// ---- Output rules
// ------------------------------------------------------------

TEST(SyscallOutputs, ReadWritesResultBytes) {
  FakeMemory mem;
  const uint64_t buf = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("read", {3, buf, 4096}, 100), mem),
            (Regions{{buf, 100}}));
  EXPECT_TRUE(
      outputs_of(make_call("read", {3, buf, 4096}, -EBADF), mem).empty());
  EXPECT_TRUE(outputs_of(make_call("read", {3, buf, 4096}, 0), mem).empty());
  EXPECT_EQ(outputs_of(make_call("pread64", {3, buf, 10, 0}, 7), mem),
            (Regions{{buf, 7}}));
}

TEST(SyscallOutputs, ReadvScattersOverIovecs) {
  FakeMemory mem;
  const uint64_t iov = FakeMemory::at(0);
  const uint64_t b0 = FakeMemory::at(1000), b1 = FakeMemory::at(2000),
                 b2 = FakeMemory::at(3000);
  mem.put(iov, iovec{as_ptr(b0), 10});
  mem.put(iov + 16, iovec{as_ptr(b1), 20});
  mem.put(iov + 32, iovec{as_ptr(b2), 30});
  EXPECT_EQ(outputs_of(make_call("readv", {3, iov, 3}, 35), mem),
            (Regions{{b0, 10}, {b1, 20}, {b2, 5}}));
  // preadv2 has the same layout; a short read stops in the first buffer.
  EXPECT_EQ(outputs_of(make_call("preadv2", {3, iov, 3, 0, 0, 0}, 4), mem),
            (Regions{{b0, 4}}));
}

TEST(SyscallOutputs, AcceptUsesPreCallAddrlen) {
  FakeMemory mem;
  const uint64_t addr = FakeMemory::at(0), lenp = FakeMemory::at(256);
  // The caller offers 128 bytes; the kernel stores a 16-byte address.
  mem.put(lenp, socklen_t{128});
  SyscallCall call = make_call("accept", {3, addr, lenp});
  EXPECT_EQ(run_entry(call, mem).kind, EntryVerdict::kRun);
  mem.put(lenp, socklen_t{16});
  call.result = 5;
  EXPECT_EQ(outputs_of(call, mem), (Regions{{lenp, 4}, {addr, 16}}));

  // The caller offers 8 bytes: the address is truncated to 8 while the
  // kernel reports its full size.
  mem.put(lenp, socklen_t{8});
  SyscallCall small = make_call("accept4", {3, addr, lenp, 0});
  run_entry(small, mem);
  mem.put(lenp, socklen_t{16});
  small.result = 5;
  EXPECT_EQ(outputs_of(small, mem), (Regions{{lenp, 4}, {addr, 8}}));

  // No address buffer: nothing is written.
  SyscallCall none = make_call("accept", {3, 0, 0});
  run_entry(none, mem);
  none.result = 5;
  EXPECT_TRUE(outputs_of(none, mem).empty());
}

// getsockname with no address buffer still stores the address's length.
TEST(SyscallOutputs, GetsocknameStoresTheLengthWithoutABuffer) {
  FakeMemory mem;
  const uint64_t lenp = FakeMemory::at(256);
  mem.put(lenp, socklen_t{0});
  SyscallCall call = make_call("getsockname", {3, 0, lenp});
  run_entry(call, mem);
  mem.put(lenp, socklen_t{110});
  call.result = 0;
  EXPECT_EQ(outputs_of(call, mem), (Regions{{lenp, 4}}));
}

TEST(SyscallOutputs, RecvmsgRecordsHeaderDataNameAndControl) {
  FakeMemory mem;
  const uint64_t hdr = FakeMemory::at(0), iov = FakeMemory::at(100);
  const uint64_t d0 = FakeMemory::at(1000), d1 = FakeMemory::at(2000);
  const uint64_t name = FakeMemory::at(3000), control = FakeMemory::at(4000);
  mem.put(iov, iovec{as_ptr(d0), 8});
  mem.put(iov + 16, iovec{as_ptr(d1), 100});
  msghdr h = {};
  h.msg_name = as_ptr(name);
  h.msg_namelen = 128;
  h.msg_iov = reinterpret_cast<iovec*>(iov);
  h.msg_iovlen = 2;
  h.msg_control = as_ptr(control);
  h.msg_controllen = 512;
  mem.put(hdr, h);

  SyscallCall call = make_call("recvmsg", {3, hdr, 0});
  run_entry(call, mem);
  h.msg_namelen = 16;  // what the kernel stores back
  h.msg_controllen = 24;
  mem.put(hdr, h);
  call.result = 50;
  EXPECT_EQ(outputs_of(call, mem), (Regions{{hdr, sizeof(msghdr)},
                                            {d0, 8},
                                            {d1, 42},
                                            {name, 16},
                                            {control, 24}}));
  call.result = -EAGAIN;
  EXPECT_TRUE(outputs_of(call, mem).empty());
}

TEST(SyscallOutputs, RecvmmsgUsesEachMessagesPreCallNamelen) {
  FakeMemory mem;
  const uint64_t vec = FakeMemory::at(0), iov = FakeMemory::at(400);
  const uint64_t data = FakeMemory::at(1000), name0 = FakeMemory::at(2000),
                 name1 = FakeMemory::at(2200), timeout = FakeMemory::at(3000);
  mem.put(iov, iovec{as_ptr(data), 100});
  mmsghdr m[2] = {};
  for (mmsghdr& msg : m) {
    msg.msg_hdr.msg_iov = reinterpret_cast<iovec*>(iov);
    msg.msg_hdr.msg_iovlen = 1;
  }
  m[0].msg_hdr.msg_name = as_ptr(name0);
  m[0].msg_hdr.msg_namelen = 8;  // too small: the address gets truncated
  m[1].msg_hdr.msg_name = as_ptr(name1);
  m[1].msg_hdr.msg_namelen = 128;
  mem.put(vec, m);

  SyscallCall call = make_call("recvmmsg", {3, vec, 2, 0, timeout});
  run_entry(call, mem);
  for (mmsghdr& msg : m) msg.msg_hdr.msg_namelen = 16;
  m[0].msg_len = 30;
  m[1].msg_len = 7;
  mem.put(vec, m);
  call.result = 2;
  EXPECT_EQ(outputs_of(call, mem), (Regions{{vec, 64},
                                            {data, 30},
                                            {name0, 8},
                                            {vec + 64, 64},
                                            {data, 7},
                                            {name1, 16},
                                            {timeout, 16}}));
}

TEST(SyscallOutputs, RecvfromCapsDataAtBufferSize) {
  FakeMemory mem;
  const uint64_t buf = FakeMemory::at(0);
  // MSG_TRUNC: the result is the datagram size, larger than the buffer.
  SyscallCall call = make_call("recvfrom", {3, buf, 64, MSG_TRUNC, 0, 0}, 1500);
  run_entry(call, mem);
  EXPECT_EQ(outputs_of(call, mem), (Regions{{buf, 64}}));
}

TEST(SyscallOutputs, GetsockoptRecordsCallersBuffer) {
  FakeMemory mem;
  const uint64_t val = FakeMemory::at(0), lenp = FakeMemory::at(100);
  mem.put(lenp, socklen_t{4});
  SyscallCall call =
      make_call("getsockopt", {3, SOL_SOCKET, SO_ERROR, val, lenp});
  run_entry(call, mem);
  call.result = 0;
  EXPECT_EQ(outputs_of(call, mem), (Regions{{lenp, 4}, {val, 4}}));
}

TEST(SyscallOutputs, SendmmsgStoresMsgLenOfSentMessages) {
  FakeMemory mem;
  const uint64_t vec = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("sendmmsg", {3, vec, 5, 0}, 2), mem),
            (Regions{{vec + 56, 4}, {vec + 64 + 56, 4}}));
}

TEST(SyscallOutputs, Getdents64WritesResultBytes) {
  FakeMemory mem;
  const uint64_t dirp = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("getdents64", {3, dirp, 32768}, 480), mem),
            (Regions{{dirp, 480}}));
  EXPECT_TRUE(
      outputs_of(make_call("getdents64", {3, dirp, 32768}, 0), mem).empty());
}

TEST(SyscallOutputs, PollStoresReventsEvenWhenInterrupted) {
  FakeMemory mem;
  const uint64_t fds = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("poll", {fds, 3, 1000}, 1), mem),
            (Regions{{fds, 24}}));
  EXPECT_EQ(outputs_of(make_call("poll", {fds, 3, 1000}, -EINTR), mem),
            (Regions{{fds, 24}}));
  EXPECT_TRUE(
      outputs_of(make_call("poll", {fds, 3, 1000}, -EFAULT), mem).empty());
  // ppoll also rewrites its timeout.
  const uint64_t ts = FakeMemory::at(500);
  EXPECT_EQ(outputs_of(make_call("ppoll", {fds, 2, ts, 0, 8}, 0), mem),
            (Regions{{fds, 16}, {ts, 16}}));
}

TEST(SyscallOutputs, SelectStoresFdSetsAndTimeout) {
  FakeMemory mem;
  const uint64_t rd = FakeMemory::at(0), wr = FakeMemory::at(200),
                 tv = FakeMemory::at(400);
  // 65 fds need two 64-bit words per set; exceptfds is null.
  EXPECT_EQ(outputs_of(make_call("select", {65, rd, wr, 0, tv}, 1), mem),
            (Regions{{rd, 16}, {wr, 16}, {tv, 16}}));
  // Interrupted: the sets are left alone but the timeout is updated.
  EXPECT_EQ(outputs_of(make_call("select", {65, rd, wr, 0, tv}, -EINTR), mem),
            (Regions{{tv, 16}}));
  EXPECT_EQ(outputs_of(make_call("pselect6", {1, rd, 0, 0, 0, 0}, 1), mem),
            (Regions{{rd, 8}}));
}

TEST(SyscallOutputs, Wait4StoresStatusAndRusageOnlyForAChild) {
  FakeMemory mem;
  const uint64_t status = FakeMemory::at(0), ru = FakeMemory::at(100);
  EXPECT_EQ(
      outputs_of(make_call("wait4", {uint64_t(-1), status, 0, ru}, 1234), mem),
      (Regions{{status, 4}, {ru, 144}}));
  // WNOHANG with no child ready.
  EXPECT_TRUE(
      outputs_of(make_call("wait4", {uint64_t(-1), status, 1, ru}, 0), mem)
          .empty());
  EXPECT_TRUE(
      outputs_of(make_call("wait4", {uint64_t(-1), status, 0, ru}, -ECHILD),
                 mem)
          .empty());
}

TEST(SyscallOutputs, WaitidStoresSiginfoEvenOnFailure) {
  FakeMemory mem;
  const uint64_t info = FakeMemory::at(0), ru = FakeMemory::at(200);
  EXPECT_EQ(
      outputs_of(make_call("waitid", {P_ALL, 0, info, WEXITED, ru}, 0), mem),
      (Regions{{info, 128}, {ru, 144}}));
  EXPECT_EQ(
      outputs_of(make_call("waitid", {P_ALL, 0, info, WEXITED, ru}, -ECHILD),
                 mem),
      (Regions{{info, 128}}));
}

TEST(SyscallOutputs, GetgroupsWithZeroSizeOnlyCounts) {
  FakeMemory mem;
  const uint64_t list = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("getgroups", {32, list}, 3), mem),
            (Regions{{list, 12}}));
  EXPECT_TRUE(outputs_of(make_call("getgroups", {0, list}, 3), mem).empty());
}

TEST(SyscallOutputs, NanosleepRemainderOnlyWhenInterrupted) {
  FakeMemory mem;
  const uint64_t req = FakeMemory::at(0), rem = FakeMemory::at(100);
  EXPECT_TRUE(outputs_of(make_call("nanosleep", {req, rem}, 0), mem).empty());
  EXPECT_EQ(outputs_of(make_call("nanosleep", {req, rem}, -EINTR), mem),
            (Regions{{rem, 16}}));
  // What a tracer sees at exit before the kernel restarts the sleep.
  constexpr int64_t kErestartRestartblock = -516;
  EXPECT_EQ(outputs_of(
                make_call("nanosleep", {req, rem}, kErestartRestartblock), mem),
            (Regions{{rem, 16}}));
  // An absolute clock_nanosleep has no remainder.
  EXPECT_TRUE(
      outputs_of(make_call("clock_nanosleep",
                           {CLOCK_REALTIME, TIMER_ABSTIME, req, rem}, -EINTR),
                 mem)
          .empty());
}

TEST(SyscallOutputs, FixedSizeStructs) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("fstat", {3, p}, 0), mem),
            (Regions{{p, 144}}));
  EXPECT_EQ(outputs_of(make_call("statx", {3, 0, 0, 0, p}, 0), mem),
            (Regions{{p, 256}}));
  EXPECT_EQ(outputs_of(make_call("uname", {p}, 0), mem), (Regions{{p, 390}}));
  EXPECT_EQ(outputs_of(make_call("clock_gettime", {1, p}, 0), mem),
            (Regions{{p, 16}}));
  EXPECT_EQ(outputs_of(make_call("rt_sigaction", {2, 0, p, 8}, 0), mem),
            (Regions{{p, 32}}));
  EXPECT_EQ(outputs_of(make_call("rt_sigprocmask", {0, 0, p, 8}, 0), mem),
            (Regions{{p, 8}}));
  EXPECT_EQ(outputs_of(make_call("pipe2", {p, 0}, 0), mem), (Regions{{p, 8}}));
  EXPECT_EQ(
      outputs_of(make_call("epoll_wait", {3, p, 16, uint64_t(-1)}, 2), mem),
      (Regions{{p, 24}}));
  // Null optional pointer: nothing.
  EXPECT_TRUE(
      outputs_of(make_call("rt_sigaction", {2, p, 0, 8}, 0), mem).empty());
}

TEST(SyscallOutputs, CloneParentSettid) {
  FakeMemory mem;
  const uint64_t ptid = FakeMemory::at(0);
  EXPECT_EQ(
      outputs_of(
          make_call("clone", {CLONE_VM | CLONE_PARENT_SETTID, 0, ptid, 0, 0},
                    4321),
          mem),
      (Regions{{ptid, 4}}));
  EXPECT_TRUE(
      outputs_of(make_call("clone", {SIGCHLD, 0, ptid, 0, 0}, 4321), mem)
          .empty());
}

TEST(SyscallOutputs, Clone3ReadsPointersFromCloneArgs) {
  FakeMemory mem;
  const uint64_t args = FakeMemory::at(0), pidfd = FakeMemory::at(200),
                 ptid = FakeMemory::at(300);
  clone_args ca = {};
  ca.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
  ca.pidfd = pidfd;
  ca.parent_tid = ptid;
  mem.put(args, ca);
  EXPECT_EQ(outputs_of(make_call("clone3", {args, sizeof ca}, 4321), mem),
            (Regions{{pidfd, 4}, {ptid, 4}}));
}

TEST(SyscallOutputs, PrctlGetName) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  EXPECT_EQ(outputs_of(make_call("prctl", {PR_GET_NAME, p}, 0), mem),
            (Regions{{p, 16}}));
  EXPECT_TRUE(outputs_of(make_call("prctl", {PR_SET_NAME, p}, 0), mem).empty());
}

// A program's filter runs for real; strict mode and user-notification
// listeners are denied.
TEST(SyscallEntry, SeccompModes) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  SyscallCall filter = make_call("prctl", {PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p});
  EXPECT_EQ(run_entry(filter, mem).kind, EntryVerdict::kRun);
  SyscallCall strict = make_call("prctl", {PR_SET_SECCOMP, SECCOMP_MODE_STRICT});
  EXPECT_EQ(run_entry(strict, mem).kind, EntryVerdict::kDeny);
  EXPECT_EQ(run_entry(strict, mem).error, EINVAL);
  SyscallCall set_filter = make_call("seccomp", {SECCOMP_SET_MODE_FILTER, 0, p});
  EXPECT_EQ(run_entry(set_filter, mem).kind, EntryVerdict::kRun);
  SyscallCall listener =
      make_call("seccomp", {SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, p});
  EXPECT_EQ(run_entry(listener, mem).error, ENOSYS);
  SyscallCall set_strict = make_call("seccomp", {SECCOMP_SET_MODE_STRICT, 0, 0});
  EXPECT_EQ(run_entry(set_strict, mem).error, EINVAL);
  EXPECT_EQ(desc("seccomp").replay, ReplayAction::kExecute);
}

// ---- ioctl
// -------------------------------------------------------------------

TEST(SyscallIoctl, KnownRequestsRunAndRecordTheirStruct) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  SyscallCall tcgets = make_call("ioctl", {0, TCGETS, p});
  EXPECT_EQ(run_entry(tcgets, mem).kind, EntryVerdict::kRun);
  tcgets.result = 0;
  EXPECT_EQ(outputs_of(tcgets, mem), (Regions{{p, 36}}));
  tcgets.result = -ENOTTY;
  EXPECT_TRUE(outputs_of(tcgets, mem).empty());

  EXPECT_EQ(outputs_of(make_call("ioctl", {1, TIOCGWINSZ, p}, 0), mem),
            (Regions{{p, 8}}));
  EXPECT_EQ(outputs_of(make_call("ioctl", {1, TCGETS2, p}, 0), mem),
            (Regions{{p, 44}}));
  EXPECT_TRUE(
      outputs_of(make_call("ioctl", {1, TIOCSWINSZ, p}, 0), mem).empty());
  SyscallCall fioclex = make_call("ioctl", {4, FIOCLEX, 0});
  EXPECT_EQ(run_entry(fioclex, mem).kind, EntryVerdict::kRun);
}

TEST(SyscallIoctl, UnknownRequestsRecordWhatTheirEncodingSays) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  struct Sample { char bytes[24]; };
  // Reads 24 bytes into the program's memory: those are the output.
  SyscallCall reads = make_call("ioctl", {3, _IOR('x', 0x71, struct Sample), p});
  EXPECT_EQ(run_entry(reads, mem).kind, EntryVerdict::kRun);
  reads.result = 0;
  EXPECT_EQ(outputs_of(reads, mem), (Regions{{p, 24}}));
  reads.result = -ENOTTY;
  EXPECT_TRUE(outputs_of(reads, mem).empty());
  SyscallCall both = make_call("ioctl", {3, _IOWR('x', 0x72, int), p}, 0);
  EXPECT_EQ(run_entry(both, mem).kind, EntryVerdict::kRun);
  EXPECT_EQ(outputs_of(both, mem), (Regions{{p, 4}}));
  // Only takes input: runs, writes nothing.
  SyscallCall takes = make_call("ioctl", {3, _IOW('x', 0x73, int), p}, 0);
  EXPECT_EQ(run_entry(takes, mem).kind, EntryVerdict::kRun);
  EXPECT_TRUE(outputs_of(takes, mem).empty());
}

// SIOCGIFBR's argument names a bridge sub-command; only the list of bridges
// comes back in memory: as many ints as the caller has room for.
TEST(SyscallIoctl, BridgeQueryRecordsOnlyTheBridgeList) {
  FakeMemory mem;
  const uint64_t args = FakeMemory::at(0), list = FakeMemory::at(64);
  mem.put(args, std::array<unsigned long, 3>{BRCTL_GET_BRIDGES, list, 8});
  SyscallCall bridges = make_call("ioctl", {3, SIOCGIFBR, args}, 2);
  EXPECT_EQ(run_entry(bridges, mem).kind, EntryVerdict::kRun);
  EXPECT_EQ(outputs_of(bridges, mem), (Regions{{list, 8 * sizeof(int)}}));

  mem.put(args, std::array<unsigned long, 3>{BRCTL_GET_VERSION, 0, 0});
  SyscallCall version = make_call("ioctl", {3, SIOCGIFBR, args}, 1);
  EXPECT_TRUE(outputs_of(version, mem).empty());
}

// FS_IOC_FIEMAP fills extents after its header: as many as it mapped, at
// most as many as there was room for.
TEST(SyscallIoctl, FiemapRecordsTheExtentsItFilled) {
  FakeMemory mem;
  const uint64_t map = FakeMemory::at(0);
  struct fiemap header = {};
  header.fm_extent_count = 4;
  header.fm_mapped_extents = 2;
  mem.put(map, header);
  SyscallCall call = make_call("ioctl", {3, FS_IOC_FIEMAP, map}, 0);
  EXPECT_EQ(run_entry(call, mem).kind, EntryVerdict::kRun);
  EXPECT_EQ(outputs_of(call, mem), (Regions{{map, sizeof header + 2 * sizeof(struct fiemap_extent)}}));
}

// keyctl commands that answer into a buffer record what fits of the answer
// (they return its whole length); the public-key commands are refused.
TEST(SyscallAdmin, KeyctlRecordsWhatFitsOfTheAnswer) {
  FakeMemory mem;
  const uint64_t buf = FakeMemory::at(0);
  SyscallCall read_key = make_call("keyctl", {KEYCTL_READ, 7, buf, 10}, 14);
  EXPECT_EQ(run_entry(read_key, mem).kind, EntryVerdict::kRun);
  EXPECT_EQ(outputs_of(read_key, mem), (Regions{{buf, 10}}));
  SyscallCall sized = make_call("keyctl", {KEYCTL_DESCRIBE, 7, buf, 64}, 30);
  EXPECT_EQ(outputs_of(sized, mem), (Regions{{buf, 30}}));
  SyscallCall revoke = make_call("keyctl", {KEYCTL_REVOKE, 7}, 0);
  EXPECT_TRUE(outputs_of(revoke, mem).empty());
  SyscallCall sign = make_call("keyctl", {KEYCTL_PKEY_SIGN, 0, 0, 0, 0});
  EXPECT_EQ(run_entry(sign, mem).kind, EntryVerdict::kUnsupported);
}

// quotactl's answer's size comes from its sub-command (the type is ignored).
TEST(SyscallAdmin, QuotactlAnswersBySubcommand) {
  FakeMemory mem;
  const uint64_t out = FakeMemory::at(0);
  SyscallCall fmt = make_call("quotactl", {uint32_t(QCMD(Q_GETFMT, GRPQUOTA)), 0, 0, out}, 0);
  EXPECT_EQ(outputs_of(fmt, mem), (Regions{{out, 4}}));
  SyscallCall get = make_call("quotactl_fd", {3, uint32_t(QCMD(Q_GETQUOTA, USRQUOTA)), 0, out}, 0);
  EXPECT_EQ(outputs_of(get, mem), (Regions{{out, sizeof(struct if_dqblk)}}));
  SyscallCall sync = make_call("quotactl", {uint32_t(QCMD(Q_SYNC, USRQUOTA)), 0, 0, 0}, 0);
  EXPECT_TRUE(outputs_of(sync, mem).empty());
}

// Unknown old-style requests (and known ones rrx cannot replay) run only
// to fail: a success stops the recording, naming the request.
TEST(SyscallIoctl, UnknownRequestsRunOnlyToFail) {
  FakeMemory mem;
  SyscallCall unknown = make_call("ioctl", {3, 0x1234, 0});
  const EntryVerdict v = run_entry(unknown, mem);
  EXPECT_EQ(v.kind, EntryVerdict::kUnlessItFails);
  EXPECT_EQ(v.what, "ioctl 0x1234 on fd 3");

  SyscallCall linux_console = make_call("ioctl", {0, TIOCLINUX, FakeMemory::at(0)});
  const EntryVerdict refused = run_entry(linux_console, mem);
  EXPECT_EQ(refused.kind, EntryVerdict::kUnlessItFails);
  EXPECT_EQ(refused.what, "ioctl TIOCLINUX (0x541c) on fd 0");
}

// ---- ptrace: requests the recorder emulates --------------------------------

TEST(SyscallPtrace, EmulatedRequestsRunAndRecordWhatTheyWrote) {
  FakeMemory mem;
  const uint64_t p = FakeMemory::at(0);
  struct Expected {
    long request;
    uint64_t written;
  };
  for (Expected e : {Expected{PTRACE_PEEKDATA, 8}, {PTRACE_PEEKUSER, 8},
                     {PTRACE_GETREGS, sizeof(struct user_regs_struct)},
                     {PTRACE_GETFPREGS, 512}, {PTRACE_GETSIGINFO, 128},
                     {PTRACE_GETEVENTMSG, 8}, {PTRACE_POKEDATA, 0}, {PTRACE_SETREGS, 0},
                     {PTRACE_CONT, 0}, {PTRACE_KILL, 0}, {PTRACE_TRACEME, 0}}) {
    SCOPED_TRACE(e.request);
    SyscallCall call = make_call("ptrace", {static_cast<uint64_t>(e.request), 100, 0, p});
    EXPECT_EQ(run_entry(call, mem).kind, EntryVerdict::kRun);
    call.result = 0;
    EXPECT_EQ(outputs_of(call, mem), (e.written ? Regions{{p, e.written}} : Regions{}));
    call.result = -ESRCH;
    EXPECT_TRUE(outputs_of(call, mem).empty());
  }
}

TEST(SyscallPtrace, OtherRequestsAreRefusedWithAName) {
  FakeMemory mem;
  SyscallCall sysemu = make_call("ptrace", {PTRACE_SYSEMU, 100, 0, 0});
  EntryVerdict v = run_entry(sysemu, mem);
  EXPECT_EQ(v.kind, EntryVerdict::kUnsupported);
  EXPECT_EQ(v.what, "ptrace PTRACE_SYSEMU");
  SyscallCall unknown = make_call("ptrace", {0x7777, 100, 0, 0});
  EXPECT_EQ(run_entry(unknown, mem).what, "ptrace request 30583");
  // Debug registers are rrx's own; the general registers are emulated.
  SyscallCall debugreg =
      make_call("ptrace", {PTRACE_POKEUSER, 100, offsetof(struct user, u_debugreg[7]), 1});
  EXPECT_EQ(run_entry(debugreg, mem).what, "ptrace PTRACE_POKEUSER of a debug register");
  SyscallCall rax = make_call("ptrace", {PTRACE_POKEUSER, 100, offsetof(struct user, regs.rax), 1});
  EXPECT_EQ(run_entry(rax, mem).kind, EntryVerdict::kRun);
}

TEST(SyscallPtrace, RegsetAndSyscallInfoOutputs) {
  FakeMemory mem;
  const uint64_t iov_addr = FakeMemory::at(0), regs = FakeMemory::at(64);
  struct iovec iov = {reinterpret_cast<void*>(regs), 216};  // as the recorder left it
  mem.put(iov_addr, iov);
  SyscallCall regset = make_call("ptrace", {PTRACE_GETREGSET, 100, 1, iov_addr}, 0);
  EXPECT_EQ(outputs_of(regset, mem), (Regions{{regs, 216}, {iov_addr + 8, 8}}));
  // GET_SYSCALL_INFO returns the whole size, having written what fit.
  SyscallCall info = make_call("ptrace", {PTRACE_GET_SYSCALL_INFO, 100, 32, regs}, 88);
  EXPECT_EQ(outputs_of(info, mem), (Regions{{regs, 32}}));
  info.args[2] = 128;
  EXPECT_EQ(outputs_of(info, mem), (Regions{{regs, 88}}));
}

}  // namespace
}  // namespace rrx
