/*
 * The libc functions librrx_preload.so replaces: each issues its syscall
 * through rrx_syscall, so the recording can buffer it. Only functions a
 * program calls through the PLT are caught; libc's internal calls (stdio,
 * opendir, ...) stay ordinary traced syscalls. Each wrapper must do exactly
 * what glibc 2.36's function does for the syscall it issues.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "syscallbuf_abi.h"

#define EXPORT __attribute__((visibility("default")))
#define ALIAS(name) __attribute__((alias(#name), visibility("default")))
#define SC(nr, a0, a1, a2, a3, a4, a5) \
  rrx_syscall(nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))

long rrx_libc_result(long raw) {
  if (rrx_is_error(raw)) {
    errno = (int)-raw;
    return -1;
  }
  return raw;
}

#define RESULT(nr, a0, a1, a2, a3, a4, a5) rrx_libc_result(SC(nr, a0, a1, a2, a3, a4, a5))

// ---- Reading and writing --------------------------------------------------

EXPORT ssize_t read(int fd, void* buf, size_t n) { return RESULT(SYS_read, fd, buf, n, 0, 0, 0); }
EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  return RESULT(SYS_write, fd, buf, n, 0, 0, 0);
}
EXPORT ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
  return RESULT(SYS_pread64, fd, buf, n, off, 0, 0);
}
ssize_t pread(int fd, void* buf, size_t n, off_t off) ALIAS(pread64);
EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  return RESULT(SYS_pwrite64, fd, buf, n, off, 0, 0);
}
ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) ALIAS(pwrite64);
EXPORT off_t lseek64(int fd, off_t off, int whence) {
  return RESULT(SYS_lseek, fd, off, whence, 0, 0, 0);
}
off_t lseek(int fd, off_t off, int whence) ALIAS(lseek64);
EXPORT ssize_t copy_file_range(int in, off64_t* in_off, int out, off64_t* out_off, size_t len,
                               unsigned flags) {
  return RESULT(SYS_copy_file_range, in, in_off, out, out_off, len, flags);
}
EXPORT int posix_fadvise64(int fd, off_t off, off_t len, int advice) {
  long raw = SC(SYS_fadvise64, fd, off, len, advice, 0, 0);
  return raw < 0 ? (int)-raw : 0;  // the error number itself, not errno
}
int posix_fadvise(int fd, off_t off, off_t len, int advice) ALIAS(posix_fadvise64);
EXPORT int ftruncate64(int fd, off_t len) { return (int)RESULT(SYS_ftruncate, fd, len, 0, 0, 0, 0); }
int ftruncate(int fd, off_t len) ALIAS(ftruncate64);
EXPORT int fsync(int fd) { return (int)RESULT(SYS_fsync, fd, 0, 0, 0, 0, 0); }
EXPORT int fdatasync(int fd) { return (int)RESULT(SYS_fdatasync, fd, 0, 0, 0, 0, 0); }

// ---- Opening and closing --------------------------------------------------

// The mode argument exists only when the flags create a file.
static mode_t open_mode(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = open_mode(flags, ap);
  va_end(ap);
  return (int)RESULT(SYS_openat, dirfd, path, flags, mode, 0, 0);
}
int openat(int dirfd, const char* path, int flags, ...) ALIAS(openat64);
EXPORT int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = open_mode(flags, ap);
  va_end(ap);
  return (int)RESULT(SYS_openat, AT_FDCWD, path, flags, mode, 0, 0);
}
int open(const char* path, int flags, ...) ALIAS(open64);
// _FORTIFY_SOURCE's entry points for opens without O_CREAT.
EXPORT int __open64_2(const char* path, int flags) {
  return (int)RESULT(SYS_openat, AT_FDCWD, path, flags, 0, 0, 0);
}
int __open_2(const char* path, int flags) ALIAS(__open64_2);
EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return (int)RESULT(SYS_openat, dirfd, path, flags, 0, 0, 0);
}
int __openat_2(int dirfd, const char* path, int flags) ALIAS(__openat64_2);
EXPORT int close(int fd) { return (int)RESULT(SYS_close, fd, 0, 0, 0, 0, 0); }

// ---- File status -----------------------------------------------------------

// glibc's struct stat and struct stat64 are the same on x86-64, but C
// wants each name declared with its own type.
#define STAT_WRAPPER(name, params, nr, ...)                       \
  EXPORT int name params { return (int)RESULT(nr, __VA_ARGS__); }
STAT_WRAPPER(fstat, (int fd, struct stat* st), SYS_fstat, fd, st, 0, 0, 0, 0)
STAT_WRAPPER(fstat64, (int fd, struct stat64* st), SYS_fstat, fd, st, 0, 0, 0, 0)
STAT_WRAPPER(fstatat, (int dirfd, const char* path, struct stat* st, int flags),
          SYS_newfstatat, dirfd, path, st, flags, 0, 0)
STAT_WRAPPER(fstatat64, (int dirfd, const char* path, struct stat64* st, int flags),
          SYS_newfstatat, dirfd, path, st, flags, 0, 0)
STAT_WRAPPER(stat, (const char* path, struct stat* st), SYS_newfstatat, AT_FDCWD,
          path, st, 0, 0, 0)
STAT_WRAPPER(stat64, (const char* path, struct stat64* st), SYS_newfstatat,
          AT_FDCWD, path, st, 0, 0, 0)
STAT_WRAPPER(lstat, (const char* path, struct stat* st), SYS_newfstatat, AT_FDCWD,
          path, st, AT_SYMLINK_NOFOLLOW, 0, 0)
STAT_WRAPPER(lstat64, (const char* path, struct stat64* st), SYS_newfstatat,
          AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW, 0, 0)
EXPORT int statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* buf) {
  return (int)RESULT(SYS_statx, dirfd, path, flags, mask, buf, 0);
}
EXPORT ssize_t readlink(const char* path, char* buf, size_t size) {
  return RESULT(SYS_readlink, path, buf, size, 0, 0, 0);
}
EXPORT ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  return RESULT(SYS_readlinkat, dirfd, path, buf, size, 0, 0);
}
EXPORT int access(const char* path, int mode) {
  return (int)RESULT(SYS_access, path, mode, 0, 0, 0, 0);
}
EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) {
  // Flags need the faccessat2 syscall, which is not buffered.
  long nr = flags ? SYS_faccessat2 : SYS_faccessat;
  return (int)RESULT(nr, dirfd, path, mode, flags, 0, 0);
}

// ---- Extended attributes ---------------------------------------------------

EXPORT ssize_t getxattr(const char* path, const char* name, void* value, size_t size) {
  return RESULT(SYS_getxattr, path, name, value, size, 0, 0);
}
EXPORT ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) {
  return RESULT(SYS_lgetxattr, path, name, value, size, 0, 0);
}
EXPORT ssize_t fgetxattr(int fd, const char* name, void* value, size_t size) {
  return RESULT(SYS_fgetxattr, fd, name, value, size, 0, 0);
}
EXPORT ssize_t listxattr(const char* path, char* list, size_t size) {
  return RESULT(SYS_listxattr, path, list, size, 0, 0, 0);
}
EXPORT ssize_t llistxattr(const char* path, char* list, size_t size) {
  return RESULT(SYS_llistxattr, path, list, size, 0, 0, 0);
}
EXPORT ssize_t flistxattr(int fd, char* list, size_t size) {
  return RESULT(SYS_flistxattr, fd, list, size, 0, 0, 0);
}
EXPORT int setxattr(const char* path, const char* name, const void* value, size_t size,
                    int flags) {
  return (int)RESULT(SYS_setxattr, path, name, value, size, flags, 0);
}
EXPORT int lsetxattr(const char* path, const char* name, const void* value, size_t size,
                     int flags) {
  return (int)RESULT(SYS_lsetxattr, path, name, value, size, flags, 0);
}
EXPORT int fsetxattr(int fd, const char* name, const void* value, size_t size, int flags) {
  return (int)RESULT(SYS_fsetxattr, fd, name, value, size, flags, 0);
}
EXPORT int removexattr(const char* path, const char* name) {
  return (int)RESULT(SYS_removexattr, path, name, 0, 0, 0, 0);
}
EXPORT int lremovexattr(const char* path, const char* name) {
  return (int)RESULT(SYS_lremovexattr, path, name, 0, 0, 0, 0);
}
EXPORT int fremovexattr(int fd, const char* name) {
  return (int)RESULT(SYS_fremovexattr, fd, name, 0, 0, 0, 0);
}

// ---- Changing files and directories ----------------------------------------

EXPORT int utimensat(int dirfd, const char* path, const struct timespec times[2], int flags) {
  return (int)RESULT(SYS_utimensat, dirfd, path, times, flags, 0, 0);
}
EXPORT int futimens(int fd, const struct timespec times[2]) {
  return (int)RESULT(SYS_utimensat, fd, 0, times, 0, 0, 0);
}
EXPORT int fchmod(int fd, mode_t mode) { return (int)RESULT(SYS_fchmod, fd, mode, 0, 0, 0, 0); }
EXPORT int chmod(const char* path, mode_t mode) {
  return (int)RESULT(SYS_fchmodat, AT_FDCWD, path, mode, 0, 0, 0);
}
EXPORT int fchown(int fd, uid_t uid, gid_t gid) {
  return (int)RESULT(SYS_fchown, fd, uid, gid, 0, 0, 0);
}
EXPORT int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) {
  return (int)RESULT(SYS_fchownat, dirfd, path, uid, gid, flags, 0);
}
EXPORT int chown(const char* path, uid_t uid, gid_t gid) {
  return (int)RESULT(SYS_fchownat, AT_FDCWD, path, uid, gid, 0, 0);
}
EXPORT int lchown(const char* path, uid_t uid, gid_t gid) {
  return (int)RESULT(SYS_fchownat, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW, 0);
}
EXPORT int mkdir(const char* path, mode_t mode) {
  return (int)RESULT(SYS_mkdirat, AT_FDCWD, path, mode, 0, 0, 0);
}
EXPORT int mkdirat(int dirfd, const char* path, mode_t mode) {
  return (int)RESULT(SYS_mkdirat, dirfd, path, mode, 0, 0, 0);
}
EXPORT int unlink(const char* path) {
  return (int)RESULT(SYS_unlinkat, AT_FDCWD, path, 0, 0, 0, 0);
}
EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  return (int)RESULT(SYS_unlinkat, dirfd, path, flags, 0, 0, 0);
}
EXPORT int rename(const char* from, const char* to) {
  return (int)RESULT(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 0, 0);
}
EXPORT int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  return (int)RESULT(SYS_renameat2, from_dir, from, to_dir, to, 0, 0);
}
EXPORT int renameat2(int from_dir, const char* from, int to_dir, const char* to,
                     unsigned flags) {
  return (int)RESULT(SYS_renameat2, from_dir, from, to_dir, to, flags, 0);
}
EXPORT int symlink(const char* target, const char* path) {
  return (int)RESULT(SYS_symlinkat, target, AT_FDCWD, path, 0, 0, 0);
}
EXPORT int symlinkat(const char* target, int dirfd, const char* path) {
  return (int)RESULT(SYS_symlinkat, target, dirfd, path, 0, 0, 0);
}

// ---- Polling without waiting ------------------------------------------------

// Buffered with a zero timeout only; waiting calls stay traced.
EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
  return (int)RESULT(SYS_poll, fds, n, timeout, 0, 0, 0);
}
EXPORT int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
  return (int)RESULT(SYS_epoll_wait, epfd, events, max, timeout, 0, 0);
}

// ---- Time and identity -----------------------------------------------------

EXPORT int clock_gettime(clockid_t clock, struct timespec* ts) {
  return (int)RESULT(SYS_clock_gettime, clock, ts, 0, 0, 0, 0);
}
EXPORT int gettimeofday(struct timeval* tv, void* tz) {
  return (int)RESULT(SYS_gettimeofday, tv, tz, 0, 0, 0, 0);
}
EXPORT time_t time(time_t* t) { return (time_t)RESULT(SYS_time, t, 0, 0, 0, 0, 0); }
EXPORT pid_t getpid(void) { return (pid_t)SC(SYS_getpid, 0, 0, 0, 0, 0, 0); }
EXPORT pid_t getppid(void) { return (pid_t)SC(SYS_getppid, 0, 0, 0, 0, 0, 0); }
EXPORT uid_t getuid(void) { return (uid_t)SC(SYS_getuid, 0, 0, 0, 0, 0, 0); }
EXPORT uid_t geteuid(void) { return (uid_t)SC(SYS_geteuid, 0, 0, 0, 0, 0, 0); }
EXPORT gid_t getgid(void) { return (gid_t)SC(SYS_getgid, 0, 0, 0, 0, 0, 0); }
EXPORT gid_t getegid(void) { return (gid_t)SC(SYS_getegid, 0, 0, 0, 0, 0, 0); }
