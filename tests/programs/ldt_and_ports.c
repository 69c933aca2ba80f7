// ldt_and_ports: calls that change what instructions do, which replay must
// make again. modify_ldt installs a data segment over a buffer, reads the
// table back and loads the segment into %gs; reading through %gs then only
// works where the segment exists. set_thread_area does the same with a TLS
// slot of the GDT. ioperm and iopl grant I/O ports (root
// only: without the permission the program says so and skips the port).
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kSegmentSize = 64 };

// Copies `len` bytes from offset 0 of the segment `selector` names, loaded
// into %gs for the purpose.
static void read_through_gs(unsigned short selector, char* out, size_t len) {
  __asm__ volatile("mov %0, %%gs" : : "r"(selector));
  for (size_t i = 0; i < len; i++) {
    char c;
    __asm__ volatile("movb %%gs:(%1), %0" : "=r"(c) : "r"(i));
    out[i] = c;
  }
  __asm__ volatile("mov %0, %%gs" : : "r"((unsigned short)0));
}

// The same through a TLS slot of the GDT (set_thread_area picks one).
static void gdt_tls_segment(char* buffer, struct user_desc desc) {
  strcpy(buffer, "read through a GDT TLS segment");
  desc.entry_number = -1;
  if (syscall(SYS_set_thread_area, &desc) != 0) {  // kernels without 32-bit emulation
    printf("set_thread_area: %s\n", strerrorname_np(errno));
    return;
  }
  struct user_desc back;
  memset(&back, 0, sizeof back);
  back.entry_number = desc.entry_number;
  long r = syscall(SYS_get_thread_area, &back);
  printf("get_thread_area: %ld, same base: %s\n", r, back.base_addr == desc.base_addr ? "yes" : "no");
  unsigned short selector = (unsigned short)((desc.entry_number << 3) | 3);  // GDT, ring 3
  char copied[kSegmentSize];
  read_through_gs(selector, copied, sizeof copied);
  printf("%s\n", copied);
}

int main(void) {
  // A segment base has 32 bits: the buffer lives in the low 4 GiB.
  char* through_segment = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (through_segment == MAP_FAILED) return 1;
  strcpy(through_segment, "read through an LDT segment");
  struct user_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.entry_number = 0;
  desc.base_addr = (unsigned)(unsigned long)through_segment;
  desc.limit = kSegmentSize - 1;
  desc.seg_32bit = 1;
  desc.contents = 0;  // data
  desc.useable = 1;
  long r = syscall(SYS_modify_ldt, 1, &desc, sizeof desc);
  printf("modify_ldt write: %ld\n", r);
  unsigned char table[16];
  memset(table, 0, sizeof table);
  r = syscall(SYS_modify_ldt, 0, table, sizeof table);
  printf("modify_ldt read: %ld bytes, limit byte 0x%02x\n", r, table[0]);

  unsigned short selector = (0 << 3) | 4 | 3;  // entry 0, LDT, ring 3
  char copied[kSegmentSize];
  read_through_gs(selector, copied, sizeof copied);
  printf("%s\n", copied);

  gdt_tls_segment(through_segment, desc);

  if (ioperm(0x80, 1, 1) == 0) {
    outb(0, 0x80);  // the POST diagnostic port: writing it is harmless
    printf("ioperm: wrote port 0x80\n");
    printf("iopl(0): %d\n", iopl(0));
  } else {
    printf("ioperm: %s\n", strerrorname_np(errno));  // not root, or no such kernel support
  }
  return 0;
}
