/*
 * rrx_site_entry: the engine's entry, its first instruction (engine.ld
 * puts .text.entry first, at RRX_ENGINE_ADDR). A patched site's stub calls
 * it as `lea -128(%rsp),%rsp; call *RRX_SITE_ENTRY_SLOT` with the program's
 * registers (see syscallbuf_abi.h, THE SITE ENTRY). Saves what C code may
 * change, asks rrx_site_call, and returns with every register and the flags
 * as they were except, by its verdict:
 *   RRX_SITE_RUN      nothing: back to R, where the stub's syscall runs
 *   RRX_SITE_HANDLED  rax = the result, back to R + RRX_SITE_HANDLED_SKIP
 *   RRX_SITE_NOTIFY   rax = RRX_CALL_NOTIFY, back to R
 * A cpuid site's stub (its instruction at R + RRX_SITE_INSN_AT is `cpuid`)
 * asks rrx_cpuid_call instead: found, rax rbx rcx rdx = the result, back to
 * R + RRX_SITE_HANDLED_SKIP; else nothing, back to R.
 */
/* preload.h and syscallbuf_abi.h are C; syscallbuf.c checks these. */
        .equ    SITE_HANDLED, 1         /* RRX_SITE_HANDLED */
        .equ    SITE_NOTIFY, 2          /* RRX_SITE_NOTIFY */
        .equ    HANDLED_SKIP, 12        /* RRX_SITE_HANDLED_SKIP */
        .equ    CALL_NOTIFY, 0x5201     /* RRX_CALL_NOTIFY */
        .equ    INSN_AT, 8              /* RRX_SITE_INSN_AT */
        .equ    LEAVE_OFFSET, 8         /* RRX_SITE_LEAVE_OFFSET */
        .equ    CPUID_BYTES, 0xa20f     /* 0f a2, read as a little-endian word */

        .section .text.entry, "ax", @progbits
        .globl  rrx_site_entry
        .type   rrx_site_entry, @function
rrx_site_entry:
        jmp     rrx_site_enter
        .org    LEAVE_OFFSET, 0xcc
        /* Every return to a site passes here, at a fixed address: a replay
           that must let the engine finish a call (a watchpoint fired on
           its copy of a recorded output) runs the thread to here. rbp is
           the frame the entry built. */
        .globl  rrx_site_leave
rrx_site_leave:
        /* The program's flags back without popf: a popf that a debugger
           single-steps makes the kernel take the trap flag for the
           program's own, which then stays set (and shows in r11 at the
           stub's syscall, unlike in the recording). sahf restores SF ZF
           AF PF CF; OF is made by an add that overflows or a test. */
        movq    80(%rbp), %rax
        testl   $0x800, %eax
        jz      3f
        movb    $0x7f, %ah
        addb    $1, %ah                 /* OF = 1 */
        jmp     4f
3:      testl   %eax, %eax              /* OF = 0 */
4:      movq    80(%rbp), %rax
        movb    %al, %ah
        sahf
        movq    %rbp, %rsp
        popq    %rbp
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rax
        leaq    8(%rsp), %rsp           /* the saved flags */
        ret

rrx_site_enter:
        pushfq
        pushq   %rax
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rbp
        movq    %rsp, %rbp              /* saved: rax at 72(%rbp), R at 88 */
        andq    $-16, %rsp              /* a site's stack may be unaligned */
        movq    88(%rbp), %r11
        cmpw    $CPUID_BYTES, INSN_AT(%r11)
        je      5f                      /* a cpuid site */
        subq    $64, %rsp               /* struct rrx_call {nr, args[6], ret} */
        movq    %rax, 0(%rsp)
        movq    %rdi, 8(%rsp)
        movq    %rsi, 16(%rsp)
        movq    %rdx, 24(%rsp)
        movq    %r10, 32(%rsp)
        movq    %r8, 40(%rsp)
        movq    %r9, 48(%rsp)
        movq    $0, 56(%rsp)
        movq    %rsp, %rdi
        call    rrx_site_call
        cmpl    $SITE_HANDLED, %eax
        jne     1f
        movq    56(%rsp), %rax
        movq    %rax, 72(%rbp)
        addq    $HANDLED_SKIP, 88(%rbp)
        jmp     rrx_site_leave
1:      cmpl    $SITE_NOTIFY, %eax
        jne     rrx_site_leave
        movq    $CALL_NOTIFY, 72(%rbp)
        jmp     rrx_site_leave
5:      subq    $32, %rsp               /* struct rrx_cpuid_call */
        movl    %eax, 0(%rsp)
        movl    %ecx, 4(%rsp)
        movq    %rsp, %rdi
        call    rrx_cpuid_call
        testl   %eax, %eax
        jz      rrx_site_leave          /* unknown: the stub's cpuid traps */
        movl    8(%rsp), %eax           /* (32-bit moves zero the upper halves, */
        movq    %rax, 72(%rbp)          /* as cpuid does) */
        movl    12(%rsp), %ebx          /* rbx is not saved: C kept it */
        movl    16(%rsp), %eax
        movq    %rax, 64(%rbp)
        movl    20(%rsp), %eax
        movq    %rax, 56(%rbp)
        addq    $HANDLED_SKIP, 88(%rbp)
        jmp     rrx_site_leave
        .size   rrx_site_entry, .-rrx_site_entry

        .section .note.GNU-stack,"",@progbits
