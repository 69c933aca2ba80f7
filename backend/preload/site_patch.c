/*
 * Patching libc's own syscall sites, so the syscalls libc makes internally
 * (malloc's mmap/munmap, readdir's getdents64, opendir's openat/fstat/close,
 * ioctl, ...) are buffered like the ones the wrappers catch.
 *
 * A site is the sequence glibc's syscall wrappers compile to:
 *     b8 NR NR NR NR       mov  $NR, %eax
 *     0f 05                syscall
 *     48 3d 0X f0 ff ff    cmp  $-4096 or $-4095, %rax  (or the like on eax)
 * found in libc's executable segment, for an NR the library buffers. Only
 * the `mov` is rewritten, into a 5-byte `jmp` to a stub of the site's own;
 * the `syscall` stays where it was. The stub calls rrx_site_entry
 * (site_entry.S), which asks the buffering code; if it took the call, the
 * stub jumps on to the `cmp` with the result in rax, else it sets eax back
 * to NR and jumps to the original `syscall`, which runs traced exactly as it
 * would have unpatched (same instruction pointer, same registers).
 *
 * The 12- to 14-byte pattern anchors the patch on instruction boundaries: a `mov`
 * whose imm32 is a buffered syscall number, right before `syscall` and the
 * error check, is not something other instructions' bytes happen to spell.
 * A REX byte before the b8 (mov to r8d) rules a site out.
 *
 * Patching happens in the library's constructor, before the program runs,
 * in recording and replay alike, so both see the same code. It is ordinary
 * program work: the stub page's mmap and the mprotects are recorded
 * syscalls, the byte writes deterministic.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "preload.h"

#define MAX_SITES 256
#define STUB_SIZE 48
/* The stub page starts with the address of rrx_site_entry, which the
   stubs call through (the library may be far from libc). */
#define STUBS_OFF 16
#define PAGE_SIZE_ 4096UL

void rrx_site_entry(void);

struct site_scan {
  uint8_t* sites[MAX_SITES];
  int n;
  uintptr_t text_lo, text_hi; /* page-aligned bounds of the sites' segment */
};

/* After the `syscall`, glibc checks for an error with one of these. */
static int error_check_follows(const uint8_t* p) {
  const uint8_t* imm = p[0] == 0x48 && p[1] == 0x3d ? p + 2  /* cmp $-409X, %rax */
                       : p[0] == 0x3d                ? p + 1  /* cmp $-409X, %eax */
                       : p[0] == 0x89 && p[1] == 0xc2 && p[2] == 0x3d
                           ? p + 3 /* mov %eax,%edx; cmp $-4096, %eax */
                           : 0;
  return imm && (imm[0] == 0x00 || imm[0] == 0x01) && imm[1] == 0xf0 && imm[2] == 0xff &&
         imm[3] == 0xff;
}

static int is_site(const uint8_t* p) {
  if (p[0] != 0xb8 || p[5] != 0x0f || p[6] != 0x05 || !error_check_follows(p + 7)) return 0;
  if (p[-1] >= 0x40 && p[-1] <= 0x4f) return 0; /* a REX prefix: not eax */
  uint32_t nr;
  memcpy(&nr, p + 1, 4);
  return rrx_buffers(nr);
}

static int find_libc(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  struct site_scan* scan = data;
  const char* name = info->dlpi_name;
  if (!name || !strstr(name, "/libc.so")) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uint8_t* lo = (uint8_t*)(info->dlpi_addr + ph->p_vaddr);
    uint8_t* hi = lo + ph->p_filesz;
    /* A site is a `mov` at p, its `syscall`'s 0x05 at p + 6, 14 bytes in
       all. Every process start pays this scan: memchr for the rarer 0x05
       makes it ~5x cheaper (~0.2 ms for glibc) than trying every byte. */
    uint8_t* last = hi - 8; /* the last 0x05 a whole site fits around */
    for (uint8_t* q = lo + 7; q <= last && scan->n < MAX_SITES; ++q) {
      q = memchr(q, 0x05, (size_t)(last - q) + 1);
      if (!q) break;
      if (is_site(q - 6)) scan->sites[scan->n++] = q - 6;
    }
    scan->text_lo = (uintptr_t)lo & ~(PAGE_SIZE_ - 1);
    scan->text_hi = ((uintptr_t)hi + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
    return 1;
  }
  return 1;
}

static int reachable(const uint8_t* from_end, const uint8_t* to) {
  intptr_t d = to - from_end;
  return d >= INT32_MIN && d <= INT32_MAX;
}

static uint8_t* put_rel32(uint8_t* p, uint8_t opcode, const uint8_t* target) {
  *p++ = opcode;
  int32_t rel = (int32_t)(target - (p + 4));
  memcpy(p, &rel, 4);
  return p + 4;
}

/* The stub for the site at `site`, whose syscall number is `nr`. */
static void write_stub(uint8_t* p, const uint8_t* site, uint32_t nr, const uint8_t* entry_slot) {
  static const uint8_t skip_red_zone[] = {0x48, 0x8d, 0x64, 0x24, 0x80}; /* lea -128(%rsp),%rsp */
  static const uint8_t drop[] = {0x48, 0x8d, 0xa4, 0x24, 0x88, 0, 0, 0}; /* lea 136(%rsp),%rsp */
  static const uint8_t test_r11[] = {0x4d, 0x85, 0xdb, 0x74, 0x05};      /* test %r11; jz +5 */
  memcpy(p, skip_red_zone, sizeof skip_red_zone);
  p += sizeof skip_red_zone;
  *p++ = 0x68; /* push $nr */
  memcpy(p, &nr, 4);
  p += 4;
  *p++ = 0xff; /* call *entry_slot(%rip) */
  *p++ = 0x15;
  int32_t rel = (int32_t)(entry_slot - (p + 4));
  memcpy(p, &rel, 4);
  p += 4;
  memcpy(p, drop, sizeof drop);
  p += sizeof drop;
  memcpy(p, test_r11, sizeof test_r11);
  p += sizeof test_r11;
  p = put_rel32(p, 0xe9, site + 7); /* buffered: on to the cmp */
  *p++ = 0xb8;                      /* not buffered: mov $nr,%eax */
  memcpy(p, &nr, 4);
  p += 4;
  put_rel32(p, 0xe9, site + 5); /* and the original syscall */
}

void rrx_patch_libc_sites(void) {
  struct site_scan scan;
  memset(&scan, 0, sizeof scan);
  dl_iterate_phdr(find_libc, &scan);
  if (scan.n == 0) return;

  size_t stub_bytes = (STUBS_OFF + (size_t)scan.n * STUB_SIZE + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
  uint8_t* stubs = mmap(0, stub_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stubs == MAP_FAILED) return;
  if (!reachable(stubs + stub_bytes, (uint8_t*)scan.text_lo) ||
      !reachable((uint8_t*)scan.text_hi, stubs)) {
    munmap(stubs, stub_bytes);
    return;
  }
  void (*entry)(void) = rrx_site_entry;
  memcpy(stubs, &entry, sizeof entry);
  for (int i = 0; i < scan.n; ++i) {
    uint32_t nr;
    memcpy(&nr, scan.sites[i] + 1, 4);
    write_stub(stubs + STUBS_OFF + i * STUB_SIZE, scan.sites[i], nr, stubs);
  }
  if (mprotect(stubs, stub_bytes, PROT_READ | PROT_EXEC) != 0) {
    munmap(stubs, stub_bytes);
    return;
  }

  /* Only the pages holding sites become writable, for the moment of the
     writes; single-threaded here (constructors run before main). */
  uintptr_t lo = (uintptr_t)scan.sites[0] & ~(PAGE_SIZE_ - 1);
  uintptr_t hi = ((uintptr_t)scan.sites[scan.n - 1] + 5 + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
  if (mprotect((void*)lo, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return;
  for (int i = 0; i < scan.n; ++i) {
    put_rel32(scan.sites[i], 0xe9, stubs + STUBS_OFF + i * STUB_SIZE);
  }
  mprotect((void*)lo, hi - lo, PROT_READ | PROT_EXEC);
}
