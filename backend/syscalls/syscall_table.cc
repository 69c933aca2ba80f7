// The x86-64 syscall table (see syscall_table.h).
//
// Record policies:
//  - kRecord: everything we can run and capture faithfully. Its outputs rule
//    lists the memory the kernel wrote (rules.h, *_rules.cc).
//  - kDenyENOSYS: syscalls programs and libraries probe and fall back from,
//    whose effects we cannot capture, plus obsolete or unimplemented ones
//    (the kernel itself says ENOSYS):
//      * the kernel writes tracee memory asynchronously: rseq (glibc
//        registers it at startup), io_uring_*, the io_* AIO family,
//        userfaultfd, futex_waitv and the futex2 calls, map_shadow_stack;
//      * they cross process boundaries or observe the system: bpf,
//        fanotify_*, pidfd_getfd, process_madvise,
//        process_mrelease, lsm_*;
//      * they change syscall semantics under us: landlock_*, mseal (a
//        program's seccomp filter runs for real: core/seccomp_filter.h;
//        only strict mode and user-notification filters are denied);
//      * exotic or administrative: kexec_*, module loading, memfd_secret,
//        cachestat, statmount/listmount.
//    (Recorded although they observe or change the system, because what
//    the program sees of them is their results and outputs: perf_event_open
//    (reads of its fd are recorded, a mapping of it is refused), the
//    keyring calls, quotactl, the new mount API.)
//      * memory protection keys: pkey_alloc/pkey_free (V8 and others use
//        them only when available), so no key can reach pkey_mprotect.
//  - kUnsupported: syscalls that would make replay silently wrong and that
//    programs do not expect to fail: remap_file_pages, pkey_mprotect. Some kRecord
//    syscalls refuse single sub-operations from their at_entry rule
//    instead: semctl GETALL of a set the recorder cannot see, keyctl's
//    public-key commands, unknown ioctl requests that succeed, ptrace
//    requests the recorder does not emulate (ptrace_rules.cc; rrx is the
//    real tracer of every recorded thread, so a recorded tracer's requests
//    never reach the kernel).
//
// Replay actions: kExecute for what shapes the address space, the signal
// state or what instructions may do, that the replayed process really needs
// (brk, munmap, mprotect, madvise, arch_prctl, set_tid_address,
// set_robust_list, rt_sigaction, rt_sigprocmask, sigaltstack; modify_ldt,
// set_thread_area, iopl and ioperm, which change what segment loads and
// in/out do; the mlock
// family, which changes what madvise may do); the dedicated actions for mmap, mremap,
// exec, fork-likes, exits, rt_sigreturn and SysV shmat (shmdt runs again);
// kEmulate for everything else.
#include <asm/ldt.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <time.h>

#include <unordered_map>

#include "preload/syscallbuf_abi.h"
#include "syscalls/rules.h"

// Syscalls newer than this glibc's headers (kernel 6.1).
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_map_shadow_stack
#define SYS_map_shadow_stack 453
#endif
#ifndef SYS_futex_wake
#define SYS_futex_wake 454
#endif
#ifndef SYS_futex_wait
#define SYS_futex_wait 455
#endif
#ifndef SYS_futex_requeue
#define SYS_futex_requeue 456
#endif
#ifndef SYS_statmount
#define SYS_statmount 457
#endif
#ifndef SYS_listmount
#define SYS_listmount 458
#endif
#ifndef SYS_lsm_get_self_attr
#define SYS_lsm_get_self_attr 459
#endif
#ifndef SYS_lsm_set_self_attr
#define SYS_lsm_set_self_attr 460
#endif
#ifndef SYS_lsm_list_modules
#define SYS_lsm_list_modules 461
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

namespace rrx {
namespace {

using namespace rules;

// x86-64 kernel ABI sizes of the structs the rules below store.
constexpr uint64_t kStat = sizeof(struct stat);
constexpr uint64_t kStatx = sizeof(struct statx);
constexpr uint64_t kStatfs = sizeof(struct statfs);
constexpr uint64_t kTimespec = sizeof(struct timespec);
constexpr uint64_t kRusage = sizeof(struct rusage);
constexpr uint64_t kSysinfo = sizeof(struct sysinfo);
constexpr uint64_t kUtsname = sizeof(struct utsname);
constexpr uint64_t kRlimit = sizeof(struct rlimit);
constexpr uint64_t kTms = sizeof(struct tms);
constexpr uint64_t kEpollEvent = sizeof(struct epoll_event);
constexpr uint64_t kItimerval = sizeof(struct itimerval);
constexpr uint64_t kItimerspec = sizeof(struct itimerspec);
constexpr uint64_t kTimex = sizeof(struct timex);
constexpr uint64_t kStackT = sizeof(stack_t);
constexpr uint64_t kMqAttr = sizeof(struct mq_attr);
constexpr uint64_t kUserDesc = sizeof(struct user_desc);  // set/get_thread_area
// struct sigaction as the kernel sees it: handler, flags, restorer, and a
// 64-bit mask (glibc's struct has a 1024-bit mask, so no sizeof here).
constexpr uint64_t kKernelSigaction = 32;
static_assert(kStat == 144 && kStatx == 256 && kStatfs == 120);
static_assert(kTimespec == 16 && sizeof(struct timeval) == 16);
static_assert(sizeof(struct timezone) == 8);
static_assert(kRusage == 144 && kSysinfo == 112 && kUtsname == 6 * 65);
static_assert(kRlimit == 16 && kTms == 32 && sizeof(struct pollfd) == 8);
static_assert(kEpollEvent == 12 && sizeof(siginfo_t) == 128);
static_assert(kItimerval == 32 && kItimerspec == 32 && kTimex == 208);
static_assert(kStackT == 24 && kMqAttr == 64 && kUserDesc == 16);
static_assert(sizeof(struct sched_param) == 4);

using EntryFn = decltype(SyscallDesc::at_entry);
using OutputsFn = decltype(SyscallDesc::outputs);

constexpr SyscallDesc make(int nr, const char* name, RecordPolicy policy,
                           ReplayAction action, OutputsFn outputs = nullptr,
                           EntryFn at_entry = nullptr,
                           FdWriteData fd_write = FdWriteData::kNone) {
  return {nr, name, policy, action, fd_write, at_entry, outputs};
}

// Recorded; replay emulates it.
constexpr SyscallDesc record(int nr, const char* name,
                             OutputsFn outputs = nullptr,
                             EntryFn at_entry = nullptr) {
  return make(nr, name, RecordPolicy::kRecord, ReplayAction::kEmulate, outputs,
              at_entry);
}

// Recorded; replay runs it again.
constexpr SyscallDesc execute(int nr, const char* name,
                              OutputsFn outputs = nullptr) {
  return make(nr, name, RecordPolicy::kRecord, ReplayAction::kExecute, outputs);
}

// Recorded; replay has a dedicated way to reproduce it.
constexpr SyscallDesc special(int nr, const char* name, ReplayAction action,
                              OutputsFn outputs = nullptr) {
  return make(nr, name, RecordPolicy::kRecord, action, outputs);
}

// A recorded write whose data replay can re-emit.
constexpr SyscallDesc write_like(int nr, const char* name, FdWriteData data,
                                 int8_t offset_arg = -1) {
  SyscallDesc d = make(nr, name, RecordPolicy::kRecord, ReplayAction::kEmulate, nullptr,
                       nullptr, data);
  d.file_write = {.fd_arg = 0, .offset_arg = offset_arg};
  return d;
}

// Recorded calls that move bytes into the file of descriptor `fd_arg`.
constexpr SyscallDesc file_writing(SyscallDesc d, FileWrite where) {
  d.file_write = where;
  return d;
}

constexpr SyscallDesc deny(int nr, const char* name) {
  return make(nr, name, RecordPolicy::kDenyENOSYS, ReplayAction::kEmulate);
}

constexpr SyscallDesc unsupported(int nr, const char* name) {
  return make(nr, name, RecordPolicy::kUnsupported, ReplayAction::kEmulate);
}

#define NR(name) SYS_##name, #name

constexpr SyscallDesc kTable[] = {
    record(NR(read), out_result_array<1>),
    write_like(NR(write), FdWriteData::kBuffer),
    record(NR(open)),
    record(NR(close)),
    record(NR(stat), out_fixed<1, kStat>),
    record(NR(fstat), out_fixed<1, kStat>),
    record(NR(lstat), out_fixed<1, kStat>),
    record(NR(poll), out_poll),
    record(NR(lseek)),
    special(NR(mmap), ReplayAction::kMmap),
    execute(NR(mprotect)),
    execute(NR(munmap)),
    execute(NR(brk)),
    execute(NR(rt_sigaction), out_fixed<2, kKernelSigaction>),
    execute(NR(rt_sigprocmask), out_rt_sigprocmask),
    special(NR(rt_sigreturn), ReplayAction::kSigreturn),
    record(NR(ioctl), out_ioctl, entry_ioctl),
    record(NR(pread64), out_result_array<1>),
    write_like(NR(pwrite64), FdWriteData::kBuffer, 3),
    record(NR(readv), out_iovec_result<1>),
    write_like(NR(writev), FdWriteData::kIovec),
    record(NR(access)),
    record(NR(pipe), out_fixed<0, 2 * sizeof(int)>),
    record(NR(select), out_select),
    record(NR(sched_yield)),
    special(NR(mremap), ReplayAction::kMremap),
    record(NR(msync)),
    record(NR(mincore), out_mincore),
    execute(NR(madvise)),
    record(NR(shmget)),
    special(NR(shmat), ReplayAction::kShmat),
    record(NR(shmctl), out_shmctl),
    record(NR(dup)),
    record(NR(dup2)),
    record(NR(pause)),
    record(NR(nanosleep), out_nanosleep),
    record(NR(getitimer), out_fixed<1, kItimerval>),
    record(NR(alarm)),
    record(NR(setitimer), out_fixed<2, kItimerval>),
    record(NR(getpid)),
    file_writing(record(NR(sendfile), out_fixed<2, sizeof(loff_t)>), {.fd_arg = 0}),
    record(NR(socket)),
    record(NR(connect)),
    record(NR(accept), out_sockaddr, entry_sockaddr),
    record(NR(sendto)),
    record(NR(recvfrom), out_recvfrom, entry_recvfrom),
    record(NR(sendmsg)),
    record(NR(recvmsg), out_recvmsg, entry_recvmsg),
    record(NR(shutdown)),
    record(NR(bind)),
    record(NR(listen)),
    record(NR(getsockname), out_sockaddr, entry_sockaddr),
    record(NR(getpeername), out_sockaddr, entry_sockaddr),
    record(NR(socketpair), out_fixed<3, 2 * sizeof(int)>),
    record(NR(setsockopt), out_setsockopt),
    record(NR(getsockopt), out_getsockopt, entry_getsockopt),
    special(NR(clone), ReplayAction::kFork, out_clone),
    special(NR(fork), ReplayAction::kFork),
    special(NR(vfork), ReplayAction::kFork),
    special(NR(execve), ReplayAction::kExecve),
    special(NR(exit), ReplayAction::kExit),
    record(NR(wait4), out_wait4),
    record(NR(kill)),
    record(NR(uname), out_fixed<0, kUtsname>),
    record(NR(semget)),
    record(NR(semop)),
    record(NR(semctl), out_semctl, entry_semctl),
    execute(NR(shmdt)),
    record(NR(msgget)),
    record(NR(msgsnd)),
    record(NR(msgrcv), out_msgrcv),
    record(NR(msgctl), out_msgctl),
    record(NR(fcntl), out_fcntl),
    record(NR(flock)),
    record(NR(fsync)),
    record(NR(fdatasync)),
    record(NR(truncate)),
    file_writing(record(NR(ftruncate)), {.fd_arg = 0, .writes_bytes = false, .sizes = true}),
    record(NR(getdents), out_result_array<1>),
    record(NR(getcwd), out_result_array<0>),
    record(NR(chdir)),
    record(NR(fchdir)),
    record(NR(rename)),
    record(NR(mkdir)),
    record(NR(rmdir)),
    record(NR(creat)),
    record(NR(link)),
    record(NR(unlink)),
    record(NR(symlink)),
    record(NR(readlink), out_result_array<1>),
    record(NR(chmod)),
    record(NR(fchmod)),
    record(NR(chown)),
    record(NR(fchown)),
    record(NR(lchown)),
    record(NR(umask)),
    record(NR(gettimeofday), out_gettimeofday),
    record(NR(getrlimit), out_fixed<1, kRlimit>),
    record(NR(getrusage), out_fixed<1, kRusage>),
    record(NR(sysinfo), out_fixed<0, kSysinfo>),
    record(NR(times), out_fixed<0, kTms>),
    record(NR(ptrace), out_ptrace, entry_ptrace),
    record(NR(getuid)),
    record(NR(syslog), out_syslog),
    record(NR(getgid)),
    record(NR(setuid)),
    record(NR(setgid)),
    record(NR(geteuid)),
    record(NR(getegid)),
    record(NR(setpgid)),
    record(NR(getppid)),
    record(NR(getpgrp)),
    record(NR(setsid)),
    record(NR(setreuid)),
    record(NR(setregid)),
    record(NR(getgroups), out_getgroups),
    record(NR(setgroups)),
    record(NR(setresuid)),
    record(NR(getresuid), out_getresid),
    record(NR(setresgid)),
    record(NR(getresgid), out_getresid),
    record(NR(getpgid)),
    record(NR(setfsuid)),
    record(NR(setfsgid)),
    record(NR(getsid)),
    record(NR(capget), out_capget),
    record(NR(capset)),
    record(NR(rt_sigpending), out_rt_sigpending),
    record(NR(rt_sigtimedwait), out_rt_sigtimedwait),
    record(NR(rt_sigqueueinfo)),
    record(NR(rt_sigsuspend)),
    execute(NR(sigaltstack), out_fixed<1, kStackT>),
    record(NR(utime)),
    record(NR(mknod)),
    deny(NR(uselib)),
    record(NR(personality)),
    deny(NR(ustat)),
    record(NR(statfs), out_fixed<1, kStatfs>),
    record(NR(fstatfs), out_fixed<1, kStatfs>),
    deny(NR(sysfs)),
    record(NR(getpriority)),
    record(NR(setpriority)),
    record(NR(sched_setparam)),
    record(NR(sched_getparam), out_fixed<1, sizeof(struct sched_param)>),
    record(NR(sched_setscheduler)),
    record(NR(sched_getscheduler)),
    record(NR(sched_get_priority_max)),
    record(NR(sched_get_priority_min)),
    record(NR(sched_rr_get_interval), out_fixed<1, kTimespec>),
    execute(NR(mlock)),  // locked pages change what madvise may do to them
    execute(NR(munlock)),
    execute(NR(mlockall)),
    execute(NR(munlockall)),
    record(NR(vhangup)),
    execute(NR(modify_ldt), out_result_array<1>),  // reads: the result's bytes
    record(NR(pivot_root)),
    deny(NR(_sysctl)),
    record(NR(prctl), out_prctl, entry_prctl),
    execute(NR(arch_prctl), out_arch_prctl),
    record(NR(adjtimex), out_fixed<0, kTimex>),
    record(NR(setrlimit)),
    record(NR(chroot)),
    record(NR(sync)),
    record(NR(acct)),
    record(NR(settimeofday)),
    record(NR(mount)),
    record(NR(umount2)),
    record(NR(swapon)),
    record(NR(swapoff)),
    record(NR(reboot)),
    record(NR(sethostname)),
    record(NR(setdomainname)),
    execute(NR(iopl)),
    execute(NR(ioperm)),
    deny(NR(create_module)),
    deny(NR(init_module)),
    deny(NR(delete_module)),
    deny(NR(get_kernel_syms)),
    deny(NR(query_module)),
    record(NR(quotactl), out_quotactl),
    deny(NR(nfsservctl)),
    deny(NR(getpmsg)),
    deny(NR(putpmsg)),
    deny(NR(afs_syscall)),
    deny(NR(tuxcall)),
    deny(NR(security)),
    record(NR(gettid)),
    record(NR(readahead)),
    record(NR(setxattr)),
    record(NR(lsetxattr)),
    record(NR(fsetxattr)),
    record(NR(getxattr), out_getxattr),
    record(NR(lgetxattr), out_getxattr),
    record(NR(fgetxattr), out_getxattr),
    record(NR(listxattr), out_listxattr),
    record(NR(llistxattr), out_listxattr),
    record(NR(flistxattr), out_listxattr),
    record(NR(removexattr)),
    record(NR(lremovexattr)),
    record(NR(fremovexattr)),
    record(NR(tkill)),
    record(NR(time), out_fixed<0, sizeof(time_t)>),
    record(NR(futex), out_futex),
    record(NR(sched_setaffinity)),
    record(NR(sched_getaffinity), out_result_array<2>),
    execute(NR(set_thread_area), out_fixed<0, kUserDesc>),  // a 32-bit TLS segment: runs again
    deny(NR(io_setup)),
    deny(NR(io_destroy)),
    deny(NR(io_getevents)),
    deny(NR(io_submit)),
    deny(NR(io_cancel)),
    record(NR(get_thread_area), out_fixed<0, kUserDesc>),
    deny(NR(lookup_dcookie)),
    record(NR(epoll_create)),
    deny(NR(epoll_ctl_old)),
    deny(NR(epoll_wait_old)),
    unsupported(NR(remap_file_pages)),
    record(NR(getdents64), out_result_array<1>),
    execute(NR(set_tid_address)),
    // The recorder sees this when the kernel resumes an interrupted
    // nanosleep/poll/futex wait; its result is recorded like any other.
    record(NR(restart_syscall)),
    record(NR(semtimedop)),
    record(NR(fadvise64)),
    record(NR(timer_create), out_fixed<2, sizeof(int)>),  // kernel timer_t
    record(NR(timer_settime), out_fixed<3, kItimerspec>),
    record(NR(timer_gettime), out_fixed<1, kItimerspec>),
    record(NR(timer_getoverrun)),
    record(NR(timer_delete)),
    record(NR(clock_settime)),
    record(NR(clock_gettime), out_fixed<1, kTimespec>),
    record(NR(clock_getres), out_fixed<1, kTimespec>),
    record(NR(clock_nanosleep), out_clock_nanosleep),
    special(NR(exit_group), ReplayAction::kExit),
    record(NR(epoll_wait), out_result_array<1, kEpollEvent>),
    record(NR(epoll_ctl)),
    record(NR(tgkill)),
    record(NR(utimes)),
    deny(NR(vserver)),
    record(NR(mbind)),
    record(NR(set_mempolicy)),
    record(NR(get_mempolicy), out_get_mempolicy),
    record(NR(mq_open)),
    record(NR(mq_unlink)),
    record(NR(mq_timedsend)),
    record(NR(mq_timedreceive), out_mq_timedreceive),
    record(NR(mq_notify)),
    record(NR(mq_getsetattr), out_fixed<2, kMqAttr>),
    deny(NR(kexec_load)),
    record(NR(waitid), out_waitid),
    record(NR(add_key)),
    record(NR(request_key)),
    record(NR(keyctl), out_keyctl, entry_keyctl),
    record(NR(ioprio_set)),
    record(NR(ioprio_get)),
    record(NR(inotify_init)),
    record(NR(inotify_add_watch)),
    record(NR(inotify_rm_watch)),
    record(NR(migrate_pages)),
    record(NR(openat)),
    record(NR(mkdirat)),
    record(NR(mknodat)),
    record(NR(fchownat)),
    record(NR(futimesat)),
    record(NR(newfstatat), out_fixed<2, kStat>),
    record(NR(unlinkat)),
    record(NR(renameat)),
    record(NR(linkat)),
    record(NR(symlinkat)),
    record(NR(readlinkat), out_result_array<2>),
    record(NR(fchmodat)),
    record(NR(faccessat)),
    record(NR(pselect6), out_pselect6),
    record(NR(ppoll), out_ppoll),
    record(NR(unshare)),
    execute(NR(set_robust_list)),
    record(NR(get_robust_list), out_get_robust_list),
    file_writing(record(NR(splice), out_in_out_offsets),
                 {.fd_arg = 2, .offset_arg = 3, .offset_ptr = true}),
    record(NR(tee)),
    record(NR(sync_file_range)),
    // vmsplice fills the iovecs only when args[0] is a pipe's read end;
    // recording them in both directions is harmless (see rules.h).
    record(NR(vmsplice), out_iovec_result<1>),
    record(NR(move_pages), out_move_pages),
    record(NR(utimensat)),
    record(NR(epoll_pwait), out_result_array<1, kEpollEvent>),
    record(NR(signalfd)),
    record(NR(timerfd_create)),
    record(NR(eventfd)),
    // Zeroes, punches or allocates [offset, offset + len), maybe growing.
    file_writing(record(NR(fallocate)),
                 {.fd_arg = 0, .offset_arg = 2, .length_arg = 3, .sizes = true}),
    record(NR(timerfd_settime), out_fixed<3, kItimerspec>),
    record(NR(timerfd_gettime), out_fixed<1, kItimerspec>),
    record(NR(accept4), out_sockaddr, entry_sockaddr),
    record(NR(signalfd4)),
    record(NR(eventfd2)),
    record(NR(epoll_create1)),
    record(NR(dup3)),
    record(NR(pipe2), out_fixed<0, 2 * sizeof(int)>),
    record(NR(inotify_init1)),
    record(NR(preadv), out_iovec_result<1>),
    write_like(NR(pwritev), FdWriteData::kIovec, 3),
    record(NR(rt_tgsigqueueinfo)),
    record(NR(perf_event_open)),  // reads of its fd are recorded; mmap of it refused
    record(NR(recvmmsg), out_recvmmsg, entry_recvmmsg),
    deny(NR(fanotify_init)),
    deny(NR(fanotify_mark)),
    record(NR(prlimit64), out_fixed<3, kRlimit>),
    record(NR(name_to_handle_at), out_name_to_handle_at),
    record(NR(open_by_handle_at)),
    record(NR(clock_adjtime), out_fixed<1, kTimex>),
    record(NR(syncfs)),
    record(NR(sendmmsg), out_sendmmsg),
    record(NR(setns)),
    record(NR(getcpu), out_getcpu),
    // Reading another process is an input like read(2): the bytes that
    // landed in the local iovecs are saved. Writing one would change that
    // process's memory where replay could not follow: denied.
    record(NR(process_vm_readv), out_iovec_result<1>),
    // Into the caller's own process only (the recorder refuses others): the
    // remote iovecs are then its outputs.
    record(NR(process_vm_writev), out_iovec_result<3>),
    record(NR(kcmp)),
    deny(NR(finit_module)),
    record(NR(sched_setattr)),
    record(NR(sched_getattr), out_sched_getattr),
    record(NR(renameat2)),
    // Runs again in replay (a filter must be there to give its verdicts).
    make(NR(seccomp), RecordPolicy::kRecord, ReplayAction::kExecute, out_seccomp, entry_seccomp),
    record(NR(getrandom), out_result_array<0>),
    record(NR(memfd_create)),
    deny(NR(kexec_file_load)),
    deny(NR(bpf)),
    special(NR(execveat), ReplayAction::kExecve),
    deny(NR(userfaultfd)),
    record(NR(membarrier)),
    execute(NR(mlock2)),
    file_writing(record(NR(copy_file_range), out_in_out_offsets),
                 {.fd_arg = 2, .offset_arg = 3, .offset_ptr = true}),
    record(NR(preadv2), out_iovec_result<1>),
    write_like(NR(pwritev2), FdWriteData::kIovec, 3),
    unsupported(NR(pkey_mprotect)),
    deny(NR(pkey_alloc)),
    deny(NR(pkey_free)),
    record(NR(statx), out_fixed<4, kStatx>),
    deny(NR(io_pgetevents)),
    deny(NR(rseq)),
    record(NR(pidfd_send_signal)),
    deny(NR(io_uring_setup)),
    deny(NR(io_uring_enter)),
    deny(NR(io_uring_register)),
    record(NR(open_tree)),
    record(NR(move_mount)),
    record(NR(fsopen)),
    record(NR(fsconfig)),
    record(NR(fsmount)),
    record(NR(fspick)),
    record(NR(pidfd_open)),
    special(NR(clone3), ReplayAction::kFork, out_clone3),
    record(NR(close_range)),
    record(NR(openat2)),
    deny(NR(pidfd_getfd)),
    record(NR(faccessat2)),
    deny(NR(process_madvise)),
    record(NR(epoll_pwait2), out_result_array<1, kEpollEvent>),
    record(NR(mount_setattr)),
    record(NR(quotactl_fd), out_quotactl_fd),
    deny(NR(landlock_create_ruleset)),
    deny(NR(landlock_add_rule)),
    deny(NR(landlock_restrict_self)),
    deny(NR(memfd_secret)),
    deny(NR(process_mrelease)),
    deny(NR(futex_waitv)),
    record(NR(set_mempolicy_home_node)),
    deny(NR(cachestat)),
    record(NR(fchmodat2)),
    deny(NR(map_shadow_stack)),
    deny(NR(futex_wake)),
    deny(NR(futex_wait)),
    deny(NR(futex_requeue)),
    deny(NR(statmount)),
    deny(NR(listmount)),
    deny(NR(lsm_get_self_attr)),
    deny(NR(lsm_set_self_attr)),
    deny(NR(lsm_list_modules)),
    deny(NR(mseal)),
    // The buffering engine's pseudo syscalls (preload/syscallbuf_abi.h): the
    // kernel answers ENOSYS; the recorder and replayer act on them.
    record(RRX_CALL_NOTIFY, "rrx_notify"),
    record(RRX_CALL_MISMATCH, "rrx_buffer_mismatch"),
};

#undef NR

constexpr bool sorted_by_number() {
  for (size_t i = 1; i < std::size(kTable); ++i)
    if (kTable[i - 1].number >= kTable[i].number) return false;
  return true;
}
static_assert(sorted_by_number(),
              "kTable must be in strictly increasing order");

constexpr int kMaxNumber = kTable[std::size(kTable) - 1].number;

struct Index {
  std::vector<const SyscallDesc*> by_number;  // kMaxNumber + 1 slots
  std::unordered_map<std::string_view, const SyscallDesc*> by_name;
  std::vector<const SyscallDesc*> all;

  Index() : by_number(kMaxNumber + 1, nullptr) {
    for (const SyscallDesc& desc : kTable) {
      by_number[desc.number] = &desc;
      by_name.emplace(desc.name, &desc);
      all.push_back(&desc);
    }
  }
};

const Index& index() {
  static const Index instance;
  return instance;
}

// Numbers no x86-64 kernel has: negative ones (syscall(-1)), and those from
// 512 on (where the kernel's table keeps x32-only calls, reached only with
// the x32 bit) outside the x32 range itself (0x40000000 + the x32 table,
// which a kernel may enable). The kernel answers them ENOSYS without doing
// anything, and so does rrx, recording and replaying alike. Numbers past
// rrx's table below 512 are refused instead: a newer kernel may have them.
bool never_a_syscall(int number) {
  const uint32_t n = static_cast<uint32_t>(number);
  return n >= 0x40000000u + 1024 || (n >= 512 && n < 0x40000000u);
}

constexpr SyscallDesc kNonexistent = deny(-1, "nonexistent syscall");

}  // namespace

const SyscallDesc* syscall_lookup(int number) {
  const SyscallDesc* desc =
      number < 0 || number > kMaxNumber ? nullptr : index().by_number[number];
  return desc || !never_a_syscall(number) ? desc : &kNonexistent;
}

const SyscallDesc* syscall_lookup(std::string_view name) {
  const auto& by_name = index().by_name;
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

std::string syscall_name(int number) {
  const SyscallDesc* desc = syscall_lookup(number);
  return desc && desc != &kNonexistent ? desc->name : "syscall " + std::to_string(number);
}

const std::vector<const SyscallDesc*>& syscall_all() { return index().all; }

}  // namespace rrx
