/*
 * rrx_switch_call(hdr, call): runs rrx_buffered_call(hdr, call) on the
 * thread's private stack at the end of its syscall buffer, with the buffer
 * locked (see syscallbuf_abi.h). The buffering code takes different paths
 * when recording and when replaying; this keeps every trace of that off the
 * program's own stack and out of its registers: on return every
 * caller-saved register but rax is zero, and the flags are those of the
 * last xor, the same in both.
 *
 * Offsets in struct rrx_buffer_hdr (checked in preload.c):
 *   8: locked   16: saved_rsp
 */
        .text
        .globl  rrx_switch_call
        .hidden rrx_switch_call
        .type   rrx_switch_call, @function
rrx_switch_call:
        movb    $1, 8(%rdi)
        movq    %rsp, 16(%rdi)
        leaq    0x100000(%rdi), %rsp    /* RRX_BUFFER_SIZE: the stack's top */
        pushq   %rdi
        subq    $8, %rsp                /* 16-byte alignment at the call */
        call    rrx_buffered_call
        addq    $8, %rsp
        popq    %rdi
        movq    16(%rdi), %rsp
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %r8d, %r8d
        xorl    %r9d, %r9d
        xorl    %r10d, %r10d
        xorl    %r11d, %r11d
        movb    $0, 8(%rdi)
        xorl    %edi, %edi
        ret
        .size   rrx_switch_call, .-rrx_switch_call

        .section .note.GNU-stack,"",@progbits
