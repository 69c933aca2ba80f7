/* Internal interface of librrx_preload.so: the buffering engine
   (syscallbuf.c) and the libc functions it replaces (wrappers.c). */
#ifndef RRX_PRELOAD_PRELOAD_H
#define RRX_PRELOAD_PRELOAD_H

/* Runs syscall `nr` the way rrx wants it: buffered in-process when the
   recording buffers it (and replayed from the buffer), else as an ordinary
   traced syscall. Returns the raw kernel result (-errno on failure). */
long rrx_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* The raw result as libc reports it: -1 with errno set on failure. */
long rrx_libc_result(long raw);

#endif
