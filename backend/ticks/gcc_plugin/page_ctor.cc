// The constructor that lets instrumented programs run outside rrx: it maps
// the tick page if nobody has (tick_page.h, "Who maps it").
//
// Written as assembly because a plugin cannot add C code to the unit, and
// it must not depend on libc (it may run in static binaries and before
// libc-dependent constructors). Every unit gets a copy in a comdat group
// keyed on the hidden symbol rrx_tick_page_init, so each linked executable
// or shared object keeps exactly one. Its .init_array.00000 entry is in the
// same group; priority 0 sorts before every priority GCC lets users write
// (101 and up) and before unprioritised constructors.
#include "gcc-plugin.h"

#include "../tick_page.h"
#include "rrx_ticks.h"

namespace {

#define RRX_GROUP ",rrx_tick_page_init,comdat\n"
#define RRX_PAGE RRX_TICK_STR(RRX_TICK_PAGE_ADDR)

// Linux x86-64 values (asm/unistd_64.h, asm-generic/mman*.h).
#define RRX_SYS_MMAP "9"
#define RRX_PROT_RW "3"                 // PROT_READ | PROT_WRITE
#define RRX_MAP_FLAGS "0x100022"        // MAP_FIXED_NOREPLACE | MAP_ANONYMOUS
                                        // | MAP_PRIVATE

const char kPageCtor[] =
    "\t.section .text.rrx_tick_page_init,\"axG\",@progbits" RRX_GROUP
    "\t.weak rrx_tick_page_init\n"
    "\t.hidden rrx_tick_page_init\n"
    "\t.type rrx_tick_page_init, @function\n"
    "rrx_tick_page_init:\n"
    "\t.cfi_startproc\n"
    "\tendbr64\n"
    "\tmovl $" RRX_SYS_MMAP ", %eax\n"
    "\tmovl $" RRX_PAGE ", %edi\n"
    "\tmovl $" RRX_TICK_STR(RRX_TICK_PAGE_SIZE) ", %esi\n"
    "\tmovl $" RRX_PROT_RW ", %edx\n"
    "\tmovl $" RRX_MAP_FLAGS ", %r10d\n"
    "\tmovq $-1, %r8\n"
    "\txorl %r9d, %r9d\n"
    "\tsyscall\n"
    // Anything but our page (EEXIST under rrx, or an error): leave it alone.
    "\tcmpq $" RRX_PAGE ", %rax\n"
    "\tjne 1f\n"
    "\tmovl $" RRX_TICK_STR(RRX_TICK_PAGE_MAGIC) ", "
    RRX_TICK_ASM_FIELD(RRX_TICK_OFF_MAGIC) "\n"
    "\tmovl $" RRX_TICK_STR(RRX_TICK_PAGE_VERSION) ", "
    RRX_TICK_ASM_FIELD(RRX_TICK_OFF_VERSION) "\n"
    "\tmovq $-1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_TARGET) "\n"
    "\tmovq $1, " RRX_TICK_ASM_FIELD(RRX_TICK_OFF_COUNT) "\n"
    "1:\tret\n"
    "\t.cfi_endproc\n"
    "\t.size rrx_tick_page_init, .-rrx_tick_page_init\n"
    "\t.section .init_array.00000,\"awG\",@init_array" RRX_GROUP
    "\t.balign 8\n"
    "\t.quad rrx_tick_page_init\n"
    RRX_TICK_ASM_MARKER("rrx_tick_page_init")
    "\t.text\n";

}  // namespace

void rrx_ticks::emit_page_ctor(FILE *out) {
  fputs(kPageCtor, out);
}
