// build: -Wl,-z,pack-relative-relocs
/* Data relocations written by hand, each checked against its formula by tests/asm_relocs.rs:
 * - R_X86_64_64 against a preemptible symbol with a negative addend (S - 8) and with an addend
 *   wider than 32 bits (S + 0x123456789): the addend is a signed 64-bit value;
 * - R_X86_64_64 against an unresolved weak symbol, with and without an addend: S = 0, so the
 *   word is the addend;
 * - R_X86_64_64 against a libc function (the same address the host sees);
 * - RELATIVE at an aligned place (packed into DT_RELR) and at an odd address (RELR cannot
 *   encode it, so it stays in DT_RELA: the loader must write it unaligned), with marker bytes
 *   around it that must survive. */
    .data
    .p2align 3
    .globl asm_target
    .type asm_target, @object
    .size asm_target, 16
asm_target:
    .quad 0x1111111111111111, 0x2222222222222222

local_data:
    .quad 1, 2, 3, 4

    .globl asm_words
    .type asm_words, @object
    .size asm_words, 48
asm_words:
    .quad asm_target - 8            /* [0] R_X86_64_64, S - 8 */
    .quad asm_target + 0x123456789  /* [1] R_X86_64_64, S + 0x123456789 */
    .quad local_data + 16           /* [2] RELATIVE (DT_RELR): &local_data[2] */
    .quad asm_weak + 5              /* [3] R_X86_64_64, unresolved weak: 5 */
    .quad strlen                    /* [4] R_X86_64_64 against libc's strlen */
    .quad asm_weak                  /* [5] R_X86_64_64, unresolved weak: 0 */

    .globl asm_unaligned
    .type asm_unaligned, @object
    .size asm_unaligned, 10
asm_unaligned:
    .byte 0xaa
    .quad local_data + 24           /* RELATIVE at an odd address (DT_RELA): &local_data[3] */
    .byte 0xbb

    .weak asm_weak

    .section .note.GNU-stack,"",@progbits
