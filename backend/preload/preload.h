/* Internal interface of the buffering engine: its C part (syscallbuf.c)
   and the entry the patched syscall sites call (site_entry.S). */
#ifndef RRX_PRELOAD_PRELOAD_H
#define RRX_PRELOAD_PRELOAD_H

/* A syscall as the buffering code sees it. */
struct rrx_call {
  long nr;
  long args[6];
  long ret;
};

/* What rrx_site_call decided (site_entry.S acts on it). */
#define RRX_SITE_RUN 0     /* not taken: the stub's own syscall runs it, traced */
#define RRX_SITE_HANDLED 1 /* taken: ret is the result */
#define RRX_SITE_NOTIFY 2  /* taken, and a held signal waits: the stub makes
                              the notify call (syscallbuf_abi.h, NOTIFY) */

/* Called from a patched syscall site, on the program's stack. */
int rrx_site_call(struct rrx_call* c);

/* A cpuid as the engine sees it: leaf and subleaf in, the result out. */
struct rrx_cpuid_call {
  unsigned leaf, subleaf;
  unsigned eax, ebx, ecx, edx;
};

/* Called from a patched cpuid site: 1 with the result filled in if the
   table has it, else 0 (the stub's cpuid then traps, syscallbuf_abi.h). */
int rrx_cpuid_call(struct rrx_cpuid_call* c);

#endif
