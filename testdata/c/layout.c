/* Memory layout, checked by tests/layouts.rs; built as is and, through the layout_*.c files that
 * include it, with other linker layouts (hash tables, segment splits, RELRO, page sizes):
 * - layout_data ends mid-page and .bss follows in the same page: the file's bytes after .data
 *   (other sections) must not show through the zeroed tail;
 * - layout_bss_big spans many pages beyond the file: anonymous zero pages, writable;
 * - layout_aligned asks for 64 KiB alignment (p_align 0x10000): the load bias must keep it;
 * - layout_rodata and layout_fn are read through their exported names. */
char layout_data[100] = {1, 2, 3};
static char bss_small[3000];
char layout_bss_big[8 << 20];
__attribute__((aligned(65536))) char layout_aligned[16] = {7};
const char layout_rodata[] = "read-only";

int layout_fn(int x) { return x * 3; }

/* Nonzero bytes in .bss (both arrays). */
long layout_nonzero_bss(void) {
    long n = 0;
    for (unsigned long i = 0; i < sizeof bss_small; i++) n += bss_small[i] != 0;
    for (unsigned long i = 0; i < sizeof layout_bss_big; i++) n += layout_bss_big[i] != 0;
    return n;
}

/* Writes every page of .bss, then reads the sum back. */
long layout_touch(void) {
    long sum = 0;
    for (unsigned long i = 0; i < sizeof bss_small; i += 512) bss_small[i] = 1;
    for (unsigned long i = 0; i < sizeof layout_bss_big; i += 4096) layout_bss_big[i] = 2;
    for (unsigned long i = 0; i < sizeof bss_small; i++) sum += bss_small[i];
    for (unsigned long i = 0; i < sizeof layout_bss_big; i++) sum += layout_bss_big[i];
    return sum;
}
