/* The buffering engine's flat image (backend/preload/), built before rrx
   and embedded here; map_preload_page copies it into processes. */
        .section .rodata.rrx_engine, "a", @progbits
        .globl  rrx_engine_image
        .hidden rrx_engine_image
        .globl  rrx_engine_image_end
        .hidden rrx_engine_image_end
        .balign 16
rrx_engine_image:
        .incbin RRX_ENGINE_IMAGE_PATH
rrx_engine_image_end:

        .section .note.GNU-stack,"",@progbits
