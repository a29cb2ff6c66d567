// build: -fuse-ld=lld -B/usr/lib/llvm-19/bin -Wl,-z,pack-relative-relocs
// cross: aarch64 riscv64
/* relr.c linked by LLD 19, which packs relative relocations (DT_RELR) on every machine (binutils
 * 2.40's ld does on x86 only). */
#include "relr.c"
