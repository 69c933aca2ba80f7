/*
 * The buffering engine (see syscallbuf_abi.h for the protocol with the
 * recorder and replayer): built freestanding into one image at a fixed
 * address that rrx copies into every process it records or replays. No
 * libc, no TLS, no constructor: its state is its data pages and each
 * thread's buffer.
 *
 * Everything that differs between recording and replay runs in
 * rrx_buffered_call, on the private stack (switch_stack.S); the code on the
 * program's stack takes the same path in both, so the program's memory and
 * registers never tell them apart. Built with -mgeneral-regs-only (no
 * vector register is touched).
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "preload.h"
#include "syscallbuf_abi.h"

_Static_assert(offsetof(struct rrx_buffer_hdr, locked) == 8, "switch_stack.S");
_Static_assert(offsetof(struct rrx_buffer_hdr, saved_rsp) == 16, "switch_stack.S");
_Static_assert(RRX_BUFFER_SIZE == 0x100000, "switch_stack.S");
_Static_assert(sizeof(struct rrx_buffer_hdr) <= RRX_BUFFER_DATA_OFF, "layout");
_Static_assert(sizeof(struct rrx_record) % 8 == 0, "records are 8-aligned");
_Static_assert(sizeof(struct rrx_engine_data) <= 0x2000, "engine.ld");
_Static_assert(RRX_SITE_HANDLED == 1 && RRX_SITE_NOTIFY == 2, "site_entry.S");
_Static_assert(RRX_SITE_HANDLED_SKIP == 12 && RRX_CALL_NOTIFY == 0x5201, "site_entry.S");
_Static_assert(RRX_SITE_INSN_AT == 8 && sizeof(struct rrx_cpuid_call) == 24, "site_entry.S");
_Static_assert(RRX_SITE_LEAVE_OFFSET == 8, "site_entry.S");

/* kPartial: buffered, but only part of a write was done (RRX_RECORD_PARTIAL). */
enum { kNotBuffered = 0, kBuffered = 1, kMismatch = 2, kPartial = 3 };

int rrx_switch_call(struct rrx_buffer_hdr* hdr, struct rrx_call* call);
int rrx_buffered_call(struct rrx_buffer_hdr* hdr, struct rrx_call* call);

static long traced_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

/* The `syscall` in the preload page: the seccomp filter lets it run with
   no ptrace stop. */
static long untraced_syscall(long nr, const long* a) {
  register long r10 __asm__("r10") = a[3];
  register long r8 __asm__("r8") = a[4];
  register long r9 __asm__("r9") = a[5];
  long ret;
  __asm__ volatile("call *%[fn]"
                   : "=a"(ret), "+r"(r10), "+r"(r8), "+r"(r9)
                   : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]),
                     [fn] "r"(RRX_UNTRACED_SYSCALL_ADDR)
                   : "rcx", "r11", "memory");
  return ret;
}

static void copy_bytes(void* dst, const void* src, uint64_t n) {
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

#define PAGE ((const struct rrx_preload_page*)RRX_PRELOAD_PAGE_ADDR)

/* rrx_buffered_syscalls by number, filled at the process's first call
   (the data pages start zeroed at exec; fork copies them). */
#define MAX_BUFFERED_NR 512
static const struct rrx_buffered_syscall* buffered_by_nr[MAX_BUFFERED_NR];
static int buffered_by_nr_ready;

static const struct rrx_buffered_syscall* find_buffered(long nr) {
  if (!buffered_by_nr_ready) {
    for (size_t i = 0; i < sizeof rrx_buffered_syscalls / sizeof rrx_buffered_syscalls[0]; ++i) {
      if (rrx_buffered_syscalls[i].nr < MAX_BUFFERED_NR)
        buffered_by_nr[rrx_buffered_syscalls[i].nr] = &rrx_buffered_syscalls[i];
    }
    buffered_by_nr_ready = 1;
  }
  return nr >= 0 && nr < MAX_BUFFERED_NR ? buffered_by_nr[nr] : 0;
}

/* The calling thread's thread pointer: what tells threads apart here. */
static uint64_t thread_pointer(void) {
  uint64_t fs = 0;
  if (PAGE->fsgsbase) {
    __asm__ volatile("rdfsbase %0" : "=r"(fs));
  } else {
    long args[6] = {ARCH_GET_FS, (long)&fs, 0, 0, 0, 0};
    untraced_syscall(SYS_arch_prctl, args);
  }
  return fs;
}

#define DATA ((struct rrx_engine_data*)RRX_ENGINE_DATA_ADDR)
static unsigned last_thread; /* where the last caller's entry was */

/* The calling thread's buffer; 0 (and the call runs traced) if it has
   none yet, or the table is full. */
static struct rrx_buffer_hdr* thread_buffer(void) {
  if (PAGE->mode == RRX_MODE_OFF) return 0;
  struct rrx_engine_data* d = DATA;
  uint64_t fs = thread_pointer();
  if (last_thread < d->num_threads && d->threads[last_thread].fs == fs)
    return (struct rrx_buffer_hdr*)d->threads[last_thread].buffer;
  for (unsigned i = 0; i < d->num_threads; ++i) {
    if (d->threads[i].fs == fs) {
      last_thread = i;
      return (struct rrx_buffer_hdr*)d->threads[i].buffer;
    }
  }
  /* rrx maps one at this call's exit stop (syscallbuf_abi.h). */
  d->wanted_fs = fs;
  d->buffer_wanted = 1;
  return 0;
}

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

enum fd_kind {
  kFdTraced,  /* never buffered: the recorder's stdout/stderr, no fd, or
                 (when written) a data file this process has mapped */
  kFdFile,    /* a regular file: its reads and writes never wait */
  kFdMayWait, /* a pipe, socket, terminal...: buffered when it need not wait */
};

/* Whether the file is one the recorder listed as mapped here. */
static int mapped_data_file(const struct stat* st) {
  if (PAGE->mapped_overflow) return 1;
  for (uint32_t i = 0; i < PAGE->mapped_count && i < RRX_MAPPED_FILES_MAX; ++i) {
    if (PAGE->mapped_dev[i] == st->st_dev && PAGE->mapped_ino[i] == st->st_ino) return 1;
  }
  return 0;
}

/* What `fd` is, for a read or (`writing`) a write. Writes to the
   recorder's stdout and stderr stay traced, so replay can re-emit them;
   writes to a mapped data file too, so the recorder sees what they do to
   the mappings, and writes to /proc (another process's memory). */
static enum fd_kind fd_kind(long fd, int writing) {
  struct stat st;
  long args[6] = {fd, (long)&st, 0, 0, 0, 0};
  if (untraced_syscall(SYS_fstat, args) != 0) return kFdTraced;
  for (int i = 0; i < 2; ++i) {
    if (PAGE->sink_dev[i] == st.st_dev && PAGE->sink_ino[i] == st.st_ino) return kFdTraced;
  }
  if (!S_ISREG(st.st_mode)) return kFdMayWait;
  if (writing && st.st_dev == PAGE->proc_dev) return kFdTraced;
  return writing && mapped_data_file(&st) ? kFdTraced : kFdFile;
}

/* Opening a FIFO waits for its other end, maybe a thread that cannot run
   until this one stops: buffer opens of regular files and directories
   (and of missing ones, which create or fail) only. */
static int opens_without_blocking(const struct rrx_call* c) {
  if (c->args[2] & O_PATH) return 1;
  struct stat st;
  long args[6] = {c->args[0], c->args[1], (long)&st, 0, 0, 0};
  long ret = untraced_syscall(SYS_newfstatat, args);
  if (ret == -ENOENT) return 1;
  return ret == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

/* A mapping the kernel places, of anonymous private memory nobody
   executes: replay maps the same range and nothing else about it concerns
   rrx (file and shared mappings are saved or watched by the recorder). */
static int plain_anonymous_mapping(const struct rrx_call* c) {
  const long allowed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK;
  long prot = c->args[2], flags = c->args[3];
  return (flags & ~allowed) == 0 && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) &&
         !(prot & PROT_EXEC);
}

/* Unmapping or protecting rrx's own pages (the tick page just below the
   preload page, the preload page, the engine, this thread's buffer) must
   stay visible to rrx. */
static int touches_rrx_memory(const struct rrx_buffer_hdr* h, const struct rrx_call* c) {
  uint64_t lo = (uint64_t)c->args[0], hi = lo + (uint64_t)c->args[1];
  uint64_t pages = RRX_PRELOAD_PAGE_ADDR - RRX_PRELOAD_PAGE_SIZE, buf = (uint64_t)h;
  return hi < lo || (lo < RRX_ENGINE_ADDR + RRX_ENGINE_SIZE && hi > pages) ||
         (lo < buf + RRX_BUFFER_SIZE && hi > buf);
}

/* fcntl commands that only read or set an fd's flags or duplicate it:
   they write no memory and never wait. */
static int fcntl_is_plain(long cmd) {
  return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC || cmd == F_GETFD || cmd == F_SETFD ||
         cmd == F_GETFL || cmd == F_SETFL;
}

/* readv's iovec arrays longer than this stay traced (their records' room
   is counted iovec by iovec). */
#define RRX_IOVEC_MAX 64

static const struct rrx_buffered_ioctl* buffered_ioctl(long request) {
  for (size_t i = 0; i < sizeof rrx_buffered_ioctls / sizeof rrx_buffered_ioctls[0]; ++i) {
    if (rrx_buffered_ioctls[i].request == (uint32_t)request) return &rrx_buffered_ioctls[i];
  }
  return 0;
}

/* Whether and how to buffer the call. */
enum { kSkip = 0, kRun = 1, kRunWithoutWaiting = 2 };

static int worth_buffering(const struct rrx_buffer_hdr* h, const struct rrx_call* c) {
  switch (c->nr) {
    case SYS_mmap:
      return plain_anonymous_mapping(c);
    case SYS_munmap:
      return !touches_rrx_memory(h, c);
    case SYS_mprotect: /* code made executable is the recorder's to patch */
      return !(c->args[2] & PROT_EXEC) && !touches_rrx_memory(h, c);
    case SYS_openat:
      return opens_without_blocking(c);
    case SYS_read:
    case SYS_write:
      switch (fd_kind(c->args[0], c->nr == SYS_write)) {
        case kFdFile: return kRun;
        case kFdMayWait: return kRunWithoutWaiting;
        default: return kSkip;
      }
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_preadv:
    case SYS_pwritev:
      return fd_kind(c->args[0], c->nr == SYS_pwrite64 || c->nr == SYS_pwritev) == kFdFile;
    case SYS_readv:
      if (c->args[2] > RRX_IOVEC_MAX) return kSkip;
      switch (fd_kind(c->args[0], 0)) {
        case kFdFile: return kRun;
        case kFdMayWait: return kRunWithoutWaiting;
        default: return kSkip;
      }
    case SYS_writev: /* (a partial write of an iovec is not worth its rest) */
      return fd_kind(c->args[0], 1) == kFdFile;
    case SYS_fcntl:
      return fcntl_is_plain(c->args[1]);
    case SYS_futex:
      return (c->args[1] & 0x7f) == 1 /* FUTEX_WAKE */ || (c->args[1] & 0x7f) == 10 /* _BITSET */;
    case SYS_copy_file_range:
      return fd_kind(c->args[2], 1) != kFdTraced;
    case SYS_ftruncate: /* growing a mapped file makes its pages valid */
      return fd_kind(c->args[0], 1) != kFdTraced;
    case SYS_ioctl:
      return buffered_ioctl(c->args[1]) != 0;
    case SYS_poll:
      return c->args[2] == 0; /* a timeout: it may wait */
    case SYS_epoll_wait:
      return c->args[3] == 0;
    case SYS_rt_sigaction: /* a new SIGSEGV action is rrx's to follow (core/segv_disposition.h) */
      return c->args[0] != SIGSEGV || c->args[1] == 0;
    case SYS_prlimit64: /* a new limit is replay's to set too (a traced call) */
      return c->args[2] == 0;
    default:
      return 1;
  }
}

/* What the call writes: its table entry's shapes, or for ioctl its
   request's. */
static void output_shapes(const struct rrx_buffered_syscall* b, const struct rrx_call* c,
                          struct rrx_out_shape out[2]) {
  out[0] = b->out[0];
  out[1] = b->out[1];
  if (c->nr == SYS_ioctl) {
    const struct rrx_buffered_ioctl* io = buffered_ioctl(c->args[1]);
    if (io && io->out_len) {
      out[0].kind = RRX_OUT_FIXED;
      out[0].ptr = 2;
      out[0].len = (uint16_t)io->out_len;
      out[0].elem = 0;
    }
  }
}

/* The most bytes the call's outputs can take in its record; more than a
   buffer holds (never wrapping around) if they cannot fit. */
static uint64_t output_room(const struct rrx_out_shape shapes[2], const struct rrx_call* c) {
  uint64_t room = 0;
  for (int i = 0; i < 2; ++i) {
    if (shapes[i].kind == RRX_OUT_NONE) continue;
    const uint64_t* args = (const uint64_t*)c->args;
    uint64_t count = shapes[i].kind == RRX_OUT_FIXED ? 1 : args[shapes[i].len];
    if (count > RRX_BUFFER_DATA_CAP) return RRX_BUFFER_SIZE;
    if (shapes[i].kind == RRX_OUT_IOVEC) {
      const struct iovec* iov = (const struct iovec*)args[shapes[i].ptr];
      for (uint64_t k = 0; k < count; ++k) {
        if (iov[k].iov_len > RRX_BUFFER_DATA_CAP) return RRX_BUFFER_SIZE;
        room += sizeof(struct rrx_output) + align8(iov[k].iov_len);
      }
      continue;
    }
    room += sizeof(struct rrx_output) + align8(rrx_out_room(&shapes[i], args));
  }
  return room;
}

/* read or write on a pipe, socket or device, as preadv2/pwritev2 with
   RWF_NOWAIT: -EAGAIN where it would wait (-EOPNOTSUPP where the file
   cannot say). A read returns what is there, like the blocking read once
   something is; a write may do part of its bytes (see RRX_RECORD_PARTIAL). */
static long without_waiting(const struct rrx_call* c) {
  struct iovec iov = {(void*)c->args[1], (size_t)c->args[2]};
  long args[6] = {c->args[0], (long)&iov, 1, -1, -1, RWF_NOWAIT};
  if (c->nr == SYS_readv) { /* its own iovecs */
    args[1] = c->args[1];
    args[2] = c->args[2];
  }
  return untraced_syscall(c->nr == SYS_write ? SYS_pwritev2 : SYS_preadv2, args);
}

/* Appends the `len` bytes at `addr` to record `rec` at p, if any. */
static char* add_output(struct rrx_record* rec, char* p, uint64_t addr, uint64_t len) {
  if (len == 0) return p;
  struct rrx_output* out = (struct rrx_output*)p;
  out->addr = addr;
  out->len = len;
  copy_bytes(out + 1, (const void*)addr, len);
  rec->nout++;
  return p + sizeof *out + align8(len);
}

/* The `ret` bytes a readv spread over its iovecs. */
static char* add_iovec_outputs(struct rrx_record* rec, char* p, const struct iovec* iov,
                               uint64_t count, long ret) {
  uint64_t left = ret > 0 ? (uint64_t)ret : 0;
  for (uint64_t k = 0; k < count && left; ++k) {
    uint64_t len = iov[k].iov_len < left ? iov[k].iov_len : left;
    p = add_output(rec, p, (uint64_t)iov[k].iov_base, len);
    left -= len;
  }
  return p;
}

static int record_call(struct rrx_buffer_hdr* h, struct rrx_call* c,
                       const struct rrx_buffered_syscall* b) {
  if (DATA->all_traced) return kNotBuffered;
  int how = worth_buffering(h, c);
  if (how == kSkip) return kNotBuffered;
  struct rrx_out_shape shapes[2];
  output_shapes(b, c, shapes);
  uint64_t room = sizeof(struct rrx_record) + output_room(shapes, c);
  if (room > RRX_BUFFER_DATA_CAP - h->used) return kNotBuffered;

  long ret;
  uint32_t flags = 0;
  if (how == kRunWithoutWaiting) {
    ret = without_waiting(c);
    if (ret == -EAGAIN || ret == -EOPNOTSUPP) return kNotBuffered; /* it would wait */
    if (c->nr == SYS_write && ret > 0 && ret < c->args[2]) flags = RRX_RECORD_PARTIAL;
  } else {
    ret = untraced_syscall(c->nr, c->args);
  }
  struct rrx_record* rec = (struct rrx_record*)((char*)h + RRX_BUFFER_DATA_OFF + h->used);
  rec->nr = (int32_t)c->nr;
  rec->ret = ret;
  for (int i = 0; i < 6; ++i) rec->args[i] = (uint64_t)c->args[i];
  rec->nout = 0;
  rec->flags = flags;
  char* p = (char*)(rec + 1);
  for (int i = 0; i < 2; ++i) {
    const struct rrx_out_shape* s = &shapes[i];
    if (s->kind == RRX_OUT_IOVEC) {
      p = add_iovec_outputs(rec, p, (const struct iovec*)c->args[s->ptr], c->args[s->len], ret);
      continue;
    }
    p = add_output(rec, p, (uint64_t)c->args[s->ptr], rrx_out_len(s, (const uint64_t*)c->args, ret));
  }
  rec->size = (uint32_t)(p - (char*)rec);
  h->used += rec->size; /* commits the record */
  if (h->notify) {
    h->notify = 0;
    h->fire = 1;
  }
  c->ret = ret;
  return flags & RRX_RECORD_PARTIAL ? kPartial : kBuffered;
}

/* Replay of a call that shapes the address space: run it again, at the
   recorded address. Whether it did what it did when recorded. */
static int run_again(const struct rrx_call* c, const struct rrx_record* rec) {
  long args[6];
  for (int i = 0; i < 6; ++i) args[i] = c->args[i];
  if (c->nr == SYS_mmap) {
    args[0] = rec->ret;
    args[3] |= MAP_FIXED_NOREPLACE;
  }
  return untraced_syscall(c->nr, args) == rec->ret;
}

static int replay_call(struct rrx_buffer_hdr* h, struct rrx_call* c,
                       const struct rrx_buffered_syscall* b) {
  if (h->consumed >= h->used) return kNotBuffered; /* it was traced */
  const struct rrx_record* rec =
      (const struct rrx_record*)((const char*)h + RRX_BUFFER_DATA_OFF + h->consumed);
  int same = rec->nr == c->nr;
  for (int i = 0; i < 6 && same; ++i) same = rec->args[i] == (uint64_t)c->args[i];
  /* A failed call had no effect, except mprotect/madvise, which may fail
     part way through their range with the pages before changed. */
  int had_effect = !rrx_is_error(rec->ret) || c->nr == SYS_mprotect || c->nr == SYS_madvise;
  if (same && b->replay == RRX_REPLAY_RUNS && had_effect) same = run_again(c, rec);
  if (!same) {
    c->args[0] = rec->nr;
    return kMismatch;
  }
  const char* p = (const char*)(rec + 1);
  for (uint32_t i = 0; i < rec->nout; ++i) {
    const struct rrx_output* out = (const struct rrx_output*)p;
    copy_bytes((void*)out->addr, out + 1, out->len);
    p += sizeof *out + align8(out->len);
  }
  h->consumed += rec->size;
  if (h->notify && h->consumed >= h->used) {
    h->notify = 0;
    h->fire = 1;
  }
  c->ret = rec->ret;
  return rec->flags & RRX_RECORD_PARTIAL ? kPartial : kBuffered;
}

/* On the private stack, buffer locked. */
int rrx_buffered_call(struct rrx_buffer_hdr* h, struct rrx_call* c) {
  const struct rrx_buffered_syscall* b = find_buffered(c->nr);
  if (!b) return kNotBuffered;
  return PAGE->mode == RRX_MODE_RECORD ? record_call(h, c, b) : replay_call(h, c, b);
}

/* Whether the call is handled here (c->ret set): RRX_SITE_RUN,
   RRX_SITE_HANDLED or RRX_SITE_NOTIFY (handled; the stub makes the notify
   call, c->ret in notify_ret). */
int rrx_site_call(struct rrx_call* c) {
  if (!find_buffered(c->nr)) return RRX_SITE_RUN;
  struct rrx_buffer_hdr* h = thread_buffer();
  if (!h || h->locked || h->all_traced) return RRX_SITE_RUN;
  long nr = c->nr;
  int how = rrx_switch_call(h, c);
  if (how == kMismatch) {
    traced_syscall(RRX_CALL_MISMATCH, c->args[0], nr, 0, 0, 0, 0);
    return RRX_SITE_RUN;
  }
  if (how != kBuffered && how != kPartial) return RRX_SITE_RUN;
  if (how == kPartial) {
    /* The blocking write goes on with the rest; an error there leaves the
       count written so far, as the kernel reports it. */
    long rest = traced_syscall(SYS_write, c->args[0], c->args[1] + c->ret, c->args[2] - c->ret,
                               0, 0, 0);
    if (rest > 0) c->ret += rest;
  }
  if (h->fire) {
    h->fire = 0;
    h->notify_ret = c->ret;
    return RRX_SITE_NOTIFY;
  }
  return RRX_SITE_HANDLED;
}

int rrx_cpuid_call(struct rrx_cpuid_call* c) {
  const struct rrx_cpuid_table* t = (const struct rrx_cpuid_table*)RRX_CPUID_TABLE_ADDR;
  for (uint32_t i = 0; i < t->count && i < RRX_CPUID_TABLE_MAX; ++i) {
    const struct rrx_cpuid_entry* e = &t->entries[i];
    if (e->leaf == c->leaf && e->subleaf == c->subleaf) {
      c->eax = e->eax;
      c->ebx = e->ebx;
      c->ecx = e->ecx;
      c->edx = e->edx;
      return 1;
    }
  }
  return 0;
}
