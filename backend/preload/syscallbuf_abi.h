/*
 * syscallbuf_abi.h - what librrx_preload.so, the recorder and the replayer
 * agree on for in-process syscall buffering (C and C++).
 *
 * THE PRELOAD PAGE AND THE ENGINE
 *   When a recording buffers syscalls, rrx maps one page at the fixed
 *   address RRX_PRELOAD_PAGE_ADDR into every process right after exec, in
 *   recording and replay alike, read+execute:
 *     +0     struct rrx_preload_page   mode, the recorder's output sinks, the
 *                                      data files the process has mapped
 *     +0x340 struct rrx_cpuid_table    (CPUID SITES)
 *     +0x7f8 the site entry slot       (THE SITE ENTRY)
 *     +0x800 `syscall; ret`            the untraced syscall instruction
 *     +0xc00 (replay only)             copies of single instructions
 *                                      (RRX_DISPLACED_STEP_ADDR below)
 *   and right after it the buffering engine (backend/preload/: linked at
 *   RRX_ENGINE_ADDR, embedded in rrx, copied in by rrx): its code,
 *   read+execute, in the first RRX_ENGINE_CODE_SIZE bytes, its data,
 *   read+write, in the rest. The engine is no library: the program's link
 *   map, symbol lookups and environment never show it. Programs reach it
 *   from the stubs rrx patches over their `syscall` instructions
 *   (backend/instrument/), through the entry address in the page's slot
 *   RRX_SITE_ENTRY_SLOT; its first instruction is that entry.
 *   The recorder's seccomp filter lets syscalls whose instruction pointer is
 *   RRX_UNTRACED_SYSCALL_IP (just after that `syscall`) run with no ptrace
 *   stop; every other syscall stops (SECCOMP_RET_TRACE). The address never
 *   changes, so the filter, installed once before the first exec and
 *   inherited by every child and across every exec, stays right.
 *
 * THE PER-THREAD BUFFER
 *   The engine finds a thread's buffer by the thread's fs base (its thread
 *   pointer, which fork and rrx's checkpoints keep) in the table of struct
 *   rrx_engine_data: a forked child goes on with its copy, threads that
 *   share a thread pointer share a buffer. A thread with none asks for one
 *   (buffer_wanted, wanted_fs) and has its call run traced; at that call's
 *   exit stop rrx maps RRX_BUFFER_SIZE bytes into the process and adds them
 *   to the table (the trace says where: SyscallExit.newBuffer), in
 *   recording and replay alike. Layout:
 *     +0                      struct rrx_buffer_hdr
 *     +RRX_BUFFER_DATA_OFF    records, one after another
 *     last RRX_BUFFER_STACK_SIZE bytes: the stack the buffering code runs on
 *   Recording: each buffered syscall appends a record; `used` counts the
 *   committed bytes. At every ptrace stop of the thread the recorder copies
 *   the records into the trace (a buffer-flush event) and sets used to 0 -
 *   never while `locked` is set, which covers the whole time the thread
 *   runs on the private stack.
 *   Replay: a buffer-flush event writes the records back together with a
 *   header {used = their size, consumed = 0, notify}; the preload code then
 *   takes each call's result and output bytes from the next record instead
 *   of running it, and makes a real (traced) syscall when none is left -
 *   exactly the calls that were traced when recording. A live spin-off
 *   copy (docs/spin-off.md) has the page's mode set to RRX_MODE_OFF: its
 *   engine takes no call, each runs for real at its site.
 *
 * NOTIFY
 *   The recorder cannot deliver a signal while a thread is inside the
 *   buffering code (replay could not find that point again). It sets
 *   `notify` and holds the signal; after its current (or next) buffered
 *   call the engine has the site's stub make the traced pseudo syscall
 *   RRX_CALL_NOTIFY in place of the program's syscall, with the program's
 *   registers, and leaves the call's result in `notify_ret`: the recorder
 *   delivers the signal there and makes rax that result at the exit, as if
 *   the program's own syscall had stopped. In replay the flush before that
 *   stop sets notify, and the call is made once the last record is
 *   consumed; the recorded exit registers carry the result.
 *
 * THE SITE ENTRY
 *   A patched site's stub (backend/instrument/stub_emitter.h) calls the
 *   engine through RRX_SITE_ENTRY_SLOT with every program register intact
 *   (rax the syscall number, the arguments in rdi, rsi, rdx, r10, r8, r9)
 *   and its return address R on the stack, 128 bytes below the program's
 *   red zone. The engine returns to R + RRX_SITE_HANDLED_SKIP with rax the
 *   result when it took the call, or to R, where the stub's own `syscall`
 *   runs traced with the registers as the engine left them: the program's,
 *   or rax = RRX_CALL_NOTIFY (above). Every other register and the flags
 *   are the program's on return.
 *
 * CPUID SITES
 *   `cpuid` instructions are patched the same way (the stub's own
 *   instruction at R + RRX_SITE_INSN_AT is then `cpuid`, which tells the
 *   engine what it is offered). Under cpuid faulting each `cpuid` is a trap
 *   that rrx emulates and records: glibc's start-up makes ~76 of them in
 *   every process. The engine answers instead from the table at
 *   RRX_CPUID_TABLE_ADDR: the results of the (leaf, subleaf) pairs rrx
 *   emulated earlier in the recording, which rrx writes into each process
 *   at exec and the trace carries as that execve exit's written memory, so
 *   replay has the same table. Found: rax, rbx, rcx, rdx are the result and
 *   the engine returns to R + RRX_SITE_HANDLED_SKIP; not found: it returns
 *   to R and the stub's `cpuid` traps, as unpatched. A pair is matched on
 *   eax and ecx exactly (leaves that ignore ecx then just miss more), so a
 *   table answer is always what the trap would have given.
 */
#ifndef RRX_PRELOAD_SYSCALLBUF_ABI_H
#define RRX_PRELOAD_SYSCALLBUF_ABI_H

#include <stdint.h>
#include <sys/syscall.h>

#define RRX_PRELOAD_PAGE_ADDR 0x70001000UL
#define RRX_PRELOAD_PAGE_SIZE 4096UL
#define RRX_PRELOAD_MAGIC 0x62755352u /* "RSub" in memory */
#define RRX_PRELOAD_VERSION 3u
#define RRX_UNTRACED_SYSCALL_ADDR (RRX_PRELOAD_PAGE_ADDR + 0x800)
#define RRX_UNTRACED_SYSCALL_IP (RRX_UNTRACED_SYSCALL_ADDR + 2)
#define RRX_ENGINE_ADDR (RRX_PRELOAD_PAGE_ADDR + RRX_PRELOAD_PAGE_SIZE)
#define RRX_ENGINE_CODE_SIZE 0xc000UL
#define RRX_ENGINE_SIZE 0x10000UL /* code, then data (engine.ld) */

/* Replay only: the page's last bytes, zero for the program, hold copies
   of single program instructions that rrx runs to step a thread over a
   breakpoint without a single step (backend/replay/displaced_steps.h).
   Nothing else uses them. */
#define RRX_DISPLACED_STEP_ADDR (RRX_PRELOAD_PAGE_ADDR + 0xc00)
#define RRX_DISPLACED_STEP_SIZE 0x400UL

/* The 8-byte slot holding the engine's entry address, filled in by rrx
   with the page: a patched site's stub calls `call *RRX_SITE_ENTRY_SLOT`
   (an absolute, sign-extended 32-bit address). See THE SITE ENTRY. */
#define RRX_SITE_ENTRY_SLOT (RRX_PRELOAD_PAGE_ADDR + 0x7f8)
/* R: lea 128(%rsp),%rsp (8 bytes); syscall (2); jmp +8 (2) - skipped. */
#define RRX_SITE_HANDLED_SKIP 12
/* Where the stub's own instruction (`syscall` or `cpuid`) is, from R. */
#define RRX_SITE_INSN_AT 8
/* Every return from the engine to a site passes through this address
   (site_entry.S), with every program register still saved on the stack:
   a replay lets the engine finish a call by running the thread to it. */
#define RRX_SITE_LEAVE_OFFSET 8
#define RRX_SITE_LEAVE_ADDR (RRX_ENGINE_ADDR + RRX_SITE_LEAVE_OFFSET)

/* The cpuid answers (CPUID SITES above), in the preload page. */
#define RRX_CPUID_TABLE_ADDR (RRX_PRELOAD_PAGE_ADDR + 0x340)
/* A recording of make -j2 asks ~40 distinct (leaf, subleaf) pairs. */
#define RRX_CPUID_TABLE_MAX 50

struct rrx_cpuid_entry {
  uint32_t leaf, subleaf; /* eax, ecx on entry */
  uint32_t eax, ebx, ecx, edx;
};

struct rrx_cpuid_table {
  uint32_t count;
  uint32_t reserved;
  struct rrx_cpuid_entry entries[RRX_CPUID_TABLE_MAX];
};

#define RRX_MAPPED_FILES_MAX 48

enum rrx_preload_mode { RRX_MODE_OFF = 0, RRX_MODE_RECORD = 1, RRX_MODE_REPLAY = 2 };

struct rrx_preload_page {
  uint32_t magic;
  uint32_t version;
  uint32_t mode; /* enum rrx_preload_mode */
  uint32_t fsgsbase; /* 1: `rdfsbase` works here (AT_HWCAP2 has FSGSBASE) */
  /* The recorder's stdout and stderr (st_dev, st_ino): writes to them are
     never buffered, so replay can re-emit them. */
  uint64_t sink_dev[2];
  uint64_t sink_ino[2];
  /* Data files (regular, not ELF) this process has mapped since exec, as
     (st_dev, st_ino), written by the recorder at each such mmap. A write(2)
     to one changes what the mappings show, which the recorder must see:
     writes to them are never buffered. mapped_overflow: more than fit,
     so no write to a regular file is buffered. Replay ignores this. */
  uint32_t mapped_count;
  uint32_t mapped_overflow;
  uint64_t mapped_dev[RRX_MAPPED_FILES_MAX];
  uint64_t mapped_ino[RRX_MAPPED_FILES_MAX];
  /* /proc's st_dev: writes there are never buffered (one to /proc/PID/mem
     changes another recorded process, which the recorder must see). */
  uint64_t proc_dev;
};

#ifdef __cplusplus
static_assert(RRX_PRELOAD_PAGE_ADDR + sizeof(struct rrx_preload_page) <= RRX_CPUID_TABLE_ADDR &&
                  RRX_CPUID_TABLE_ADDR + sizeof(struct rrx_cpuid_table) <= RRX_SITE_ENTRY_SLOT,
              "the preload page's layout");
#endif

/* Pseudo syscalls (numbers the kernel does not have: it says ENOSYS).
   0x5200 announced a buffer in traces before version 6. */
#define RRX_CALL_FIRST 0x5201
#define RRX_CALL_NOTIFY 0x5201   /* a held signal may be delivered here */
#define RRX_CALL_MISMATCH 0x5202 /* replay: (recorded nr, actual nr) */

/* The start of the engine's data pages, shared with rrx. */
#define RRX_ENGINE_DATA_ADDR (RRX_ENGINE_ADDR + RRX_ENGINE_CODE_SIZE)

/* Whether `pc` lies in the engine's code. */
static inline int rrx_in_engine_code(uint64_t pc) {
  return pc >= RRX_ENGINE_ADDR && pc < RRX_ENGINE_ADDR + RRX_ENGINE_CODE_SIZE;
}
#define RRX_ENGINE_THREADS_MAX 496

struct rrx_engine_data {
  uint32_t buffer_wanted; /* a thread found no buffer: wanted_fs's */
  uint32_t num_threads;   /* entries of threads[] in use */
  uint64_t wanted_fs;
  /* Recording: set by rrx once the process has a seccomp filter of its own
     (kept across exec): its calls are all traced, so the filter judges
     each, and the engine makes no syscall of its own it could refuse.
     Replay needs no flag: those calls left no records. */
  uint32_t all_traced;
  uint32_t reserved;
  struct {
    uint64_t fs;     /* a thread pointer */
    uint64_t buffer; /* its buffer */
  } threads[RRX_ENGINE_THREADS_MAX];
};

#define RRX_BUFFER_SIZE (1UL << 20)
#define RRX_BUFFER_STACK_SIZE (64UL << 10)
#define RRX_BUFFER_DATA_OFF 64UL
#define RRX_BUFFER_DATA_CAP (RRX_BUFFER_SIZE - RRX_BUFFER_DATA_OFF - RRX_BUFFER_STACK_SIZE)

struct rrx_buffer_hdr {
  uint32_t used;     /* bytes of records: committed (record), loaded (replay) */
  uint32_t consumed; /* replay: bytes of records taken */
  uint8_t locked;    /* the thread is inside the buffering code */
  uint8_t notify;    /* see NOTIFY above */
  uint8_t fire;      /* private: make the RRX_CALL_NOTIFY call now */
  /* Recording: set by the recorder while a recorded tracer follows this
     thread's syscalls (PTRACE_SYSCALL): every call is traced, so each
     stops. Replay needs no flag: the calls left no records. */
  uint8_t all_traced;
  uint8_t reserved[4];
  uint64_t saved_rsp; /* private: the thread's own stack pointer */
  int64_t notify_ret; /* the buffered result an RRX_CALL_NOTIFY stands for */
};

/* One buffered syscall. Followed by `nout` outputs, each a
   struct rrx_output and its bytes, padded to 8. */
struct rrx_record {
  uint32_t size; /* of the whole record, a multiple of 8 */
  int32_t nr;
  int64_t ret;
  uint64_t args[6];
  uint32_t nout;
  uint32_t flags; /* RRX_RECORD_* */
};

/* A write to a pipe or socket that wrote only part of its bytes without
   waiting: the library then writes the rest with a traced syscall, as the
   blocking write would have (and does the same in replay). */
#define RRX_RECORD_PARTIAL 1u

struct rrx_output {
  uint64_t addr;
  uint64_t len;
};

/* The memory a buffered syscall writes, in the syscall table's terms. */
enum rrx_out_kind {
  RRX_OUT_NONE = 0,
  /* args[ptr] gets result * elem bytes, if result > 0 and args[len] != 0 */
  RRX_OUT_RESULT = 1,
  /* args[ptr] gets `len` bytes, if the call succeeded */
  RRX_OUT_FIXED = 2,
  /* args[ptr] gets args[len] * elem bytes, if the call succeeded or was
     interrupted (poll's revents) */
  RRX_OUT_ARRAY = 3,
  /* args[ptr] is an iovec array of args[len] entries, filled in order with
     result bytes (readv): one output per iovec touched */
  RRX_OUT_IOVEC = 4,
};

struct rrx_out_shape {
  uint8_t kind;
  uint8_t ptr;
  uint16_t len;  /* RRX_OUT_FIXED: bytes; else index of the count argument */
  uint16_t elem; /* RRX_OUT_RESULT, RRX_OUT_ARRAY: bytes per counted item */
};

/* Whether a raw syscall result is an error (-4095..-1, -errno). */
static inline int rrx_is_error(int64_t ret) { return ret < 0 && ret > -4096; }

/* The bytes a call with these arguments and result wrote by shape `s`
   (none at a null pointer). */
static inline uint64_t rrx_out_len(const struct rrx_out_shape* s, const uint64_t args[6],
                                   int64_t ret) {
  int ok = !rrx_is_error(ret);
  int interrupted = ret == -4 /* EINTR */ || (ret <= -512 && ret >= -516) /* ERESTART* */;
  if (args[s->ptr] == 0) return 0;
  switch (s->kind) {
    case RRX_OUT_RESULT: return ret > 0 && args[s->len] != 0 ? (uint64_t)ret * s->elem : 0;
    case RRX_OUT_FIXED: return ok ? s->len : 0;
    case RRX_OUT_ARRAY: return ok || interrupted ? args[s->len] * s->elem : 0;
    default: return 0;
  }
}

/* The most bytes shape `s` can write for these arguments. */
static inline uint64_t rrx_out_room(const struct rrx_out_shape* s, const uint64_t args[6]) {
  switch (s->kind) {
    case RRX_OUT_RESULT:
    case RRX_OUT_ARRAY: return args[s->len] * s->elem;
    case RRX_OUT_FIXED: return s->len;
    default: return 0;
  }
}

/* Syscalls the preload library may buffer. Which fd kinds qualify is its
   own rule (see syscallbuf.c); what they write is here, and the syscall
   table's unit test checks it against the table's output rules. ioctl
   writes what rrx_buffered_ioctls says for its request. */
struct rrx_buffered_syscall {
  int nr;
  struct rrx_out_shape out[2];
  /* Replay runs it again in-process (RRX_REPLAY_RUNS), as it must for what
     shapes the address space; else it only takes the recorded result. */
  uint8_t replay;
};

#define RRX_REPLAY_TAKES 0
#define RRX_REPLAY_RUNS 1

#define RRX_RES(p, l) {RRX_OUT_RESULT, p, l, 1}
#define RRX_RESN(p, l, size) {RRX_OUT_RESULT, p, l, size}
#define RRX_FIX(p, n) {RRX_OUT_FIXED, p, n, 0}
#define RRX_ARRAY(p, l, size) {RRX_OUT_ARRAY, p, l, size}
#define RRX_NONE {RRX_OUT_NONE, 0, 0, 0}

static const struct rrx_buffered_syscall rrx_buffered_syscalls[] = {
    {SYS_read, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_readv, {{RRX_OUT_IOVEC, 1, 2, 0}, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_preadv, {{RRX_OUT_IOVEC, 1, 2, 0}, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_writev, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_pwritev, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_pread64, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_write, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_pwrite64, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_open, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_openat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_close, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_lseek, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fstat, {RRX_FIX(1, 144), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_stat, {RRX_FIX(1, 144), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_lstat, {RRX_FIX(1, 144), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_newfstatat, {RRX_FIX(2, 144), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_statx, {RRX_FIX(4, 256), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_readlink, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_readlinkat, {RRX_RES(2, 3), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_access, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_faccessat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_copy_file_range, {RRX_FIX(1, 8), RRX_FIX(3, 8)}, RRX_REPLAY_TAKES},
    {SYS_fadvise64, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_ftruncate, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fsync, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fdatasync, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getxattr, {RRX_RES(2, 3), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_lgetxattr, {RRX_RES(2, 3), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fgetxattr, {RRX_RES(2, 3), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_listxattr, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_llistxattr, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_flistxattr, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_setxattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_lsetxattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fsetxattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_removexattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_lremovexattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fremovexattr, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_utimensat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fchmod, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fchmodat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fchown, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_fchownat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_mkdir, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_mkdirat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_unlink, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_unlinkat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_rename, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_renameat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_renameat2, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_symlink, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_symlinkat, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    /* A new action must be installed in replay too: run again. */
    {SYS_rt_sigaction, {RRX_FIX(2, 32), RRX_NONE}, RRX_REPLAY_RUNS},
    {SYS_clock_gettime, {RRX_FIX(1, 16), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_gettimeofday, {RRX_FIX(0, 16), RRX_FIX(1, 8)}, RRX_REPLAY_TAKES},
    {SYS_time, {RRX_FIX(0, 8), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getpid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getppid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getuid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_geteuid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getgid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getegid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getdents64, {RRX_RES(1, 2), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getcwd, {RRX_RES(0, 1), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_prlimit64, {RRX_FIX(3, 16), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_getrandom, {RRX_RES(0, 1), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_gettid, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_sysinfo, {RRX_FIX(0, 112), RRX_NONE}, RRX_REPLAY_TAKES},
    /* The kernel walks the list at the thread's exit, in replay too. */
    {SYS_set_robust_list, {RRX_NONE, RRX_NONE}, RRX_REPLAY_RUNS},
    /* fcntl only for the commands that write no memory and never wait
       (syscallbuf.c); futex only to wake (it never waits then). */
    {SYS_fcntl, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_futex, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_ioctl, {RRX_NONE, RRX_NONE}, RRX_REPLAY_TAKES},
    /* With a zero timeout only (see syscallbuf.c): struct pollfd is 8
       bytes, struct epoll_event 12. */
    {SYS_poll, {RRX_ARRAY(0, 1, 8), RRX_NONE}, RRX_REPLAY_TAKES},
    {SYS_epoll_wait, {RRX_RESN(1, 2, 12), RRX_NONE}, RRX_REPLAY_TAKES},
    /* Anonymous private mappings only (see syscallbuf.c): replay maps at
       the recorded address. */
    {SYS_mmap, {RRX_NONE, RRX_NONE}, RRX_REPLAY_RUNS},
    {SYS_munmap, {RRX_NONE, RRX_NONE}, RRX_REPLAY_RUNS},
    /* Only without PROT_EXEC (see syscallbuf.c). */
    {SYS_mprotect, {RRX_NONE, RRX_NONE}, RRX_REPLAY_RUNS},
    /* The break moves the same in replay: run again, same result. */
    {SYS_brk, {RRX_NONE, RRX_NONE}, RRX_REPLAY_RUNS},
};

/* The ioctl requests that are buffered (no others): each writes `out_len`
   bytes at args[2] when it succeeds. None can wait for another thread. */
struct rrx_buffered_ioctl {
  uint32_t request;
  uint32_t out_len;
};

static const struct rrx_buffered_ioctl rrx_buffered_ioctls[] = {
    {0x40049409u, 0},  /* FICLONE (cp tries it on every file) */
    {0x4020940du, 0},  /* FICLONERANGE */
    {0x5401u, 36},     /* TCGETS: the kernel's struct termios (isatty) */
    {0x5413u, 8},      /* TIOCGWINSZ */
    {0x541bu, 4},      /* FIONREAD */
};

#undef RRX_RES
#undef RRX_RESN
#undef RRX_ARRAY
#undef RRX_FIX
#undef RRX_NONE

#endif /* RRX_PRELOAD_SYSCALLBUF_ABI_H */
