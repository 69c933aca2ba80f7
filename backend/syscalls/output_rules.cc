// Output rules for syscalls other than sockets and ioctl: which tracee
// memory the kernel wrote. Struct sizes are those of the x86-64 kernel ABI;
// syscall_table.cc checks them with static_asserts.
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <iterator>

#include "syscalls/rules.h"

namespace rrx::rules {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kTaskCommLen = 16;  // PR_GET_NAME's buffer
// glibc may pass IPC_64 in SysV *ctl commands; the kernel strips it.
constexpr int kIpc64 = 0x100;
// Kernel ERESTART* codes (include/linux/errno.h, not exported to users).
constexpr int64_t kErestartSys = 512;
constexpr int64_t kErestartNoIntr = 513;
constexpr int64_t kErestartNoHand = 514;
constexpr int64_t kErestartRestartBlock = 516;

// Timeouts of select/pselect6/ppoll are rewritten with the time left
// whenever the kernel could read them, whatever the result.
bool timeout_rewritten(int64_t result) { return result != -EFAULT; }

// The three fd_sets of select/pselect6, each sized for args[0] fds.
void emit_fd_sets(const SyscallCall& call, Regions& out) {
  if (!succeeded(call.result)) return;
  const uint64_t bytes = (uint64_t(int(call.args[0])) + 63) / 64 * 8;
  for (int i = 1; i <= 3; ++i) emit(out, call.args[i], bytes);
}

// A sub-command and the bytes it stores through its pointer argument.
struct CommandOutput {
  int command;
  uint64_t size;
};

uint64_t output_size(const CommandOutput* table, size_t n, int command) {
  for (size_t i = 0; i < n; ++i)
    if (table[i].command == command) return table[i].size;
  return 0;
}

}  // namespace

bool interrupted(int64_t result) {
  switch (-result) {
    case EINTR:
    case kErestartSys:
    case kErestartNoIntr:
    case kErestartNoHand:
    case kErestartRestartBlock:
      return true;
    default:
      return false;
  }
}

void emit(Regions& out, uint64_t addr, uint64_t len) {
  if (addr != 0 && len != 0) out.push_back({addr, len});
}

void emit_iovecs(TraceeMemory& mem, uint64_t iov, uint64_t count, uint64_t len,
                 Regions& out) {
  for (uint64_t i = 0; i < count && len > 0; ++i) {
    struct iovec v;
    if (!read_value(mem, iov + i * sizeof v, v)) return;
    const uint64_t n = std::min<uint64_t>(len, v.iov_len);
    emit(out, reinterpret_cast<uint64_t>(v.iov_base), n);
    len -= n;
  }
}

// ---- Polling and sleeping --------------------------------------------------

// revents are stored even when a signal interrupts the wait.
void out_poll(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result) || interrupted(call.result))
    emit(out, call.args[0], call.args[1] * sizeof(struct pollfd));
}

void out_ppoll(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  out_poll(call, mem, out);
  if (timeout_rewritten(call.result))
    emit(out, call.args[2], sizeof(struct timespec));
}

void out_select(const SyscallCall& call, TraceeMemory&, Regions& out) {
  emit_fd_sets(call, out);
  if (timeout_rewritten(call.result))
    emit(out, call.args[4], sizeof(struct timeval));
}

void out_pselect6(const SyscallCall& call, TraceeMemory&, Regions& out) {
  emit_fd_sets(call, out);
  if (timeout_rewritten(call.result))
    emit(out, call.args[4], sizeof(struct timespec));
}

void out_nanosleep(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (interrupted(call.result))
    emit(out, call.args[1], sizeof(struct timespec));
}

// Absolute sleeps have no remaining time to report.
void out_clock_nanosleep(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (interrupted(call.result) && !(call.args[1] & TIMER_ABSTIME))
    emit(out, call.args[3], sizeof(struct timespec));
}

void out_gettimeofday(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[0], sizeof(struct timeval));
  emit(out, call.args[1], sizeof(struct timezone));
}

// ---- Processes and credentials ---------------------------------------------

// Status and rusage are stored only when a child was reported (result > 0).
void out_wait4(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result <= 0) return;
  emit(out, call.args[1], sizeof(int));
  emit(out, call.args[3], sizeof(struct rusage));
}

// waitid stores the siginfo even when it fails (zeroed, or for WNOHANG with
// nothing to report), and the rusage when a child was reported.
void out_waitid(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result != -EFAULT) emit(out, call.args[2], sizeof(siginfo_t));
  if (call.result == 0) emit(out, call.args[4], sizeof(struct rusage));
}

// getresuid/getresgid: three 32-bit ids.
void out_getresid(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  for (int i = 0; i < 3; ++i) emit(out, call.args[i], sizeof(uint32_t));
}

// getgroups(0, ...) only counts the groups.
void out_getgroups(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result > 0 && call.args[0] != 0)
    emit(out, call.args[1], uint64_t(call.result) * sizeof(gid_t));
}

// A header with an unknown version gets the kernel's preferred version
// written back (how libcap probes it); data holds 1 (v1) or 2 (v2, v3)
// cap_user_data structs.
void out_capget(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  if (call.result == -EFAULT) return;
  emit(out, call.args[0], sizeof(struct __user_cap_header_struct));
  struct __user_cap_header_struct header;
  if (!succeeded(call.result) || !read_value(mem, call.args[0], header)) return;
  const uint64_t structs =
      header.version == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
  emit(out, call.args[1], structs * sizeof(struct __user_cap_data_struct));
}

void out_clone(const SyscallCall& call, TraceeMemory&, Regions& out) {
  const uint64_t flags = call.args[0];
  if (call.result > 0 && (flags & (CLONE_PARENT_SETTID | CLONE_PIDFD)))
    emit(out, call.args[2], sizeof(pid_t));  // child tid or pidfd
  if (call.result == 0 && (flags & CLONE_CHILD_SETTID))
    emit(out, call.args[3], sizeof(pid_t));
}

// clone3 takes the same pointers inside struct clone_args at args[0].
void out_clone3(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  if (!succeeded(call.result)) return;
  struct clone_args ca = {};
  if (!mem.read(call.args[0], &ca, offsetof(struct clone_args, exit_signal)))
    return;
  if (call.result > 0) {
    if (ca.flags & CLONE_PIDFD) emit(out, ca.pidfd, sizeof(int));
    if (ca.flags & CLONE_PARENT_SETTID) emit(out, ca.parent_tid, sizeof(pid_t));
  } else if (ca.flags & CLONE_CHILD_SETTID) {
    emit(out, ca.child_tid, sizeof(pid_t));
  }
}

void out_get_robust_list(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[1], sizeof(uint64_t));  // head pointer
  emit(out, call.args[2], sizeof(size_t));    // length
}

// A program's seccomp filter runs for real, behind a prefix that lets
// rrx's own syscalls through (core/seccomp_filter.h). Strict mode would
// kill the program at rrx's first syscall; a filter whose verdicts another
// process gives (a user-notification listener) would need that process's
// answers replayed: both are denied.
EntryVerdict entry_prctl(SyscallCall& call, TraceeMemory&) {
  if (call.args[0] == PR_SET_SECCOMP && call.args[1] != SECCOMP_MODE_FILTER) {
    return {EntryVerdict::kDeny, EINVAL, {}};
  }
  return {};
}

EntryVerdict entry_seccomp(SyscallCall& call, TraceeMemory&) {
  if (call.args[0] == SECCOMP_SET_MODE_STRICT) return {EntryVerdict::kDeny, EINVAL, {}};
  if (call.args[0] == SECCOMP_SET_MODE_FILTER && (call.args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER)) {
    return {EntryVerdict::kDeny, ENOSYS, {}};
  }
  return {};
}

void out_seccomp(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.args[0] == SECCOMP_GET_NOTIF_SIZES && succeeded(call.result)) {
    emit(out, call.args[2], sizeof(struct seccomp_notif_sizes));
  }
}

// The PR_GET_* options that store their answer through args[1], and
// PR_SET_MM's query of the size of its map struct (through args[2]).
void out_prctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.args[0] == PR_SET_MM && call.args[1] == PR_SET_MM_MAP_SIZE) {
    if (succeeded(call.result)) emit(out, call.args[2], sizeof(unsigned));
    return;
  }
  static constexpr CommandOutput kOutputs[] = {
      {PR_GET_NAME, kTaskCommLen},
      {PR_GET_PDEATHSIG, sizeof(int)},
      {PR_GET_TID_ADDRESS, sizeof(uint64_t)},
      {PR_GET_CHILD_SUBREAPER, sizeof(int)},
      {PR_GET_TSC, sizeof(int)},
  };
  if (succeeded(call.result))
    emit(out, call.args[1],
         output_size(kOutputs, std::size(kOutputs), int(call.args[0])));
}

void out_arch_prctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  static constexpr CommandOutput kOutputs[] = {
      {ARCH_GET_FS, sizeof(uint64_t)},
      {ARCH_GET_GS, sizeof(uint64_t)},
      {ARCH_GET_XCOMP_SUPP, sizeof(uint64_t)},
      {ARCH_GET_XCOMP_PERM, sizeof(uint64_t)},
      {ARCH_GET_XCOMP_GUEST_PERM, sizeof(uint64_t)},
  };
  if (succeeded(call.result))
    emit(out, call.args[1],
         output_size(kOutputs, std::size(kOutputs), int(call.args[0])));
}

// ---- Signals ---------------------------------------------------------------

// The old mask has the caller's sigsetsize (args[3]) bytes.
void out_rt_sigprocmask(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[2], call.args[3]);
}

void out_rt_sigpending(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[0], call.args[1]);
}

// The result is the signal number taken.
void out_rt_sigtimedwait(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result > 0) emit(out, call.args[1], sizeof(siginfo_t));
}

// ---- Files -----------------------------------------------------------------

void out_fcntl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  static constexpr CommandOutput kOutputs[] = {
      {F_GETLK, sizeof(struct flock)},
      {F_OFD_GETLK, sizeof(struct flock)},
      {F_GETOWN_EX, sizeof(struct f_owner_ex)},
      {F_GET_RW_HINT, sizeof(uint64_t)},
      {F_GET_FILE_RW_HINT, sizeof(uint64_t)},
  };
  if (succeeded(call.result))
    emit(out, call.args[2],
         output_size(kOutputs, std::size(kOutputs), int(call.args[1])));
}

// copy_file_range/splice: the in (args[1]) and out (args[3]) offsets.
void out_in_out_offsets(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[1], sizeof(loff_t));
  emit(out, call.args[3], sizeof(loff_t));
}

// struct file_handle: 8-byte header plus handle_bytes of handle. On
// EOVERFLOW only the header's handle_bytes (the size needed) is stored.
void out_name_to_handle_at(const SyscallCall& call, TraceeMemory& mem,
                           Regions& out) {
  constexpr uint64_t kHeader = 8;
  // AT_HANDLE_MNT_ID_UNIQUE (newer kernels) asks for a 64-bit mount id.
  constexpr uint64_t kMntIdUnique = 0x001;
  if (call.result == -EOVERFLOW) emit(out, call.args[2], kHeader);
  uint32_t handle_bytes = 0;
  if (!succeeded(call.result) || !read_value(mem, call.args[2], handle_bytes))
    return;
  emit(out, call.args[2], kHeader + handle_bytes);
  emit(out, call.args[3], (call.args[4] & kMntIdUnique) ? 8 : 4);
}

// getxattr family: a zero size only asks for the value's size.
void out_getxattr(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result > 0 && call.args[3] != 0)
    emit(out, call.args[2], call.result);
}

void out_listxattr(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result > 0 && call.args[2] != 0)
    emit(out, call.args[1], call.result);
}

// ---- Memory and scheduling -------------------------------------------------

// One status byte per page of [args[0], args[0] + args[1]).
void out_mincore(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result))
    emit(out, call.args[2], (call.args[1] + kPageSize - 1) / kPageSize);
}

// The node mask holds maxnode - 1 bits, stored in whole longs.
void out_get_mempolicy(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[0], sizeof(int));
  const uint64_t maxnode = call.args[2];
  if (maxnode > 0) emit(out, call.args[1], (maxnode - 1 + 63) / 64 * 8);
}

// One int of status per page.
void out_move_pages(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result))
    emit(out, call.args[4], call.args[1] * sizeof(int));
}

// The kernel stores min(args[2], its struct size) bytes.
void out_sched_getattr(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[1], call.args[2]);
}

void out_getcpu(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[0], sizeof(unsigned));
  emit(out, call.args[1], sizeof(unsigned));
}

// The futex word operations that store into user memory.
void out_futex(const SyscallCall& call, TraceeMemory&, Regions& out) {
  switch (call.args[1] & FUTEX_CMD_MASK) {
    case FUTEX_WAKE_OP:  // atomically updates *uaddr2
      if (succeeded(call.result)) emit(out, call.args[4], sizeof(uint32_t));
      break;
    // PI operations set the owner / FUTEX_WAITERS bits of the futex word,
    // sometimes before failing or being interrupted.
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI:
    case FUTEX_UNLOCK_PI:
      if (call.result != -EFAULT) emit(out, call.args[0], sizeof(uint32_t));
      break;
    case FUTEX_WAIT_REQUEUE_PI:
    case FUTEX_CMP_REQUEUE_PI:
      if (call.result != -EFAULT) emit(out, call.args[4], sizeof(uint32_t));
      break;
    default:
      break;
  }
}

// ---- Miscellaneous ---------------------------------------------------------

// The read actions of syslog(2) fill the buffer.
void out_syslog(const SyscallCall& call, TraceeMemory&, Regions& out) {
  constexpr uint64_t kActionRead = 2, kActionReadAll = 3, kActionReadClear = 4;
  const uint64_t action = call.args[0];
  const bool reads = action == kActionRead || action == kActionReadAll ||
                     action == kActionReadClear;
  if (reads && call.result > 0) emit(out, call.args[1], call.result);
}

// ---- POSIX and SysV message queues, SysV semaphores -------------------------

// The message (result bytes) and its priority.
void out_mq_timedreceive(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[1], call.result);
  emit(out, call.args[3], sizeof(unsigned));
}

// struct msgbuf: the long mtype, then result bytes of text.
void out_msgrcv(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result))
    emit(out, call.args[1], sizeof(long) + call.result);
}

void out_msgctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  static constexpr CommandOutput kOutputs[] = {
      {IPC_STAT, sizeof(struct msqid_ds)},
      {MSG_STAT, sizeof(struct msqid_ds)},
      {MSG_STAT_ANY, sizeof(struct msqid_ds)},
      {IPC_INFO, sizeof(struct msginfo)},
      {MSG_INFO, sizeof(struct msginfo)},
  };
  if (succeeded(call.result))
    emit(out, call.args[2],
         output_size(kOutputs, std::size(kOutputs),
                     int(call.args[1]) & ~kIpc64));
}

void out_shmctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  static constexpr CommandOutput kOutputs[] = {
      {IPC_STAT, sizeof(struct shmid_ds)},
      {SHM_STAT, sizeof(struct shmid_ds)},
      {SHM_STAT_ANY, sizeof(struct shmid_ds)},
      {IPC_INFO, sizeof(struct shminfo)},
      {SHM_INFO, sizeof(struct shm_info)},
  };
  if (succeeded(call.result))
    emit(out, call.args[2],
         output_size(kOutputs, std::size(kOutputs),
                     int(call.args[1]) & ~kIpc64));
}

// GETALL fills an array sized by the set's semaphore count: the recorder
// asks the set itself (the program's IPC namespace is the recorder's, unless
// it made its own: then the set is not found and GETALL is refused).
EntryVerdict entry_semctl(SyscallCall& call, TraceeMemory&) {
  if ((int(call.args[2]) & ~kIpc64) != GETALL) return {};
  struct semid_ds set;
  if (semctl(int(call.args[0]), 0, IPC_STAT, &set) != 0)
    return {EntryVerdict::kUnsupported, 0, "semctl GETALL of a set rrx cannot see"};
  call.saved[0] = set.sem_nsems;
  return {};
}

void out_semctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  static constexpr CommandOutput kOutputs[] = {
      {IPC_STAT, sizeof(struct semid_ds)},
      {SEM_STAT, sizeof(struct semid_ds)},
      {SEM_STAT_ANY, sizeof(struct semid_ds)},
      {IPC_INFO, sizeof(struct seminfo)},
      {SEM_INFO, sizeof(struct seminfo)},
  };
  if (!succeeded(call.result)) return;
  if ((int(call.args[2]) & ~kIpc64) == GETALL) {
    emit(out, call.args[3], call.saved[0] * sizeof(unsigned short));
    return;
  }
  emit(out, call.args[3],
       output_size(kOutputs, std::size(kOutputs), int(call.args[2]) & ~kIpc64));
}

}  // namespace rrx::rules
