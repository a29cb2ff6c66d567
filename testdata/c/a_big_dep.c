// build: -Wl,-soname,a_big_dep.so
/* A library with 64 MiB of bss: under a low address-space limit it cannot be mapped
 * (tests/out_of_memory.rs). Its initialiser counts its runs. */
char big_dep_area[64 << 20];
static int inits;

__attribute__((constructor)) static void init(void) { inits++; }
int big_dep_inits(void) { return inits; }
int big_dep_touch(int i) {
    ((volatile char *)big_dep_area)[i] = (char)i;
    return ((volatile char *)big_dep_area)[i];
}
