/* Internal interface of librrx_preload.so: the buffering engine
   (syscallbuf.c), the libc functions it replaces (wrappers.c) and the
   libc syscall sites it patches (site_patch.c). */
#ifndef RRX_PRELOAD_PRELOAD_H
#define RRX_PRELOAD_PRELOAD_H

/* Runs syscall `nr` the way rrx wants it: buffered in-process when the
   recording buffers it (and replayed from the buffer), else as an ordinary
   traced syscall. Returns the raw kernel result (-errno on failure). */
long rrx_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* A syscall as the buffering code sees it. */
struct rrx_call {
  long nr;
  long args[6];
  long ret;
};

/* Called from a patched libc syscall site (site_patch.c): 1 with c->ret
   set if the call was buffered (or replayed from the buffer), else 0 and
   the site makes its own, traced, syscall. */
int rrx_site_call(struct rrx_call* c);

/* Whether syscall `nr` is one the library can buffer. */
int rrx_buffers(long nr);

/* Sends libc's own syscall sites for buffered syscalls through
   rrx_site_call (site_patch.c). */
void rrx_patch_libc_sites(void);

/* The raw result as libc reports it: -1 with errno set on failure. */
long rrx_libc_result(long raw);

#endif
