/*
 * rrx_site_entry: called from the stub of a patched libc syscall site
 * (site_patch.c) as
 *     lea -128(%rsp),%rsp; push $NR; call *slot
 * with the syscall's arguments in rdi, rsi, rdx, r10, r8, r9 as for the
 * `syscall` instruction. Builds a struct rrx_call, asks rrx_site_call and
 * returns with r11 = 1 and rax = the result if the call was buffered, else
 * r11 = 0. Every other register is as it was except rcx (zero), like
 * `syscall` clobbers rcx and r11; the flags are the stub's business.
 */
        .text
        .globl  rrx_site_entry
        .hidden rrx_site_entry
        .type   rrx_site_entry, @function
rrx_site_entry:
        pushq   %rdi
        pushq   %rsi
        pushq   %rdx
        pushq   %r10
        pushq   %r8
        pushq   %r9
        pushq   %rbp
        movq    %rsp, %rbp
        andq    $-16, %rsp
        subq    $64, %rsp               /* struct rrx_call {nr, args[6], ret} */
        movq    64(%rbp), %rax          /* NR, pushed by the stub */
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
        movl    %eax, %r11d
        movq    56(%rsp), %rax
        movq    %rbp, %rsp
        popq    %rbp
        popq    %r9
        popq    %r8
        popq    %r10
        popq    %rdx
        popq    %rsi
        popq    %rdi
        xorl    %ecx, %ecx
        ret
        .size   rrx_site_entry, .-rrx_site_entry

        .section .note.GNU-stack,"",@progbits
