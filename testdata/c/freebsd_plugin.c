// cc: clang
// build: --target=$ARCH-unknown-freebsd13 -nostdlib -fuse-ld=lld -Wl,-soname,libfreebsd_plugin.so.1
// cross: aarch64
/* A FreeBSD shared object (EI_OSABI 9 from clang's FreeBSD target on x86_64 and aarch64; clang
 * 14 leaves riscv64's at 0) that uses only its host's exports and its own code: -nostdlib, so
 * no FreeBSD C library is linked or needed. Built for the target's machine ($ARCH: x86_64
 * natively, aarch64 under qemu-user; on an x86_64 build also for aarch64 into fixtures/aarch64/,
 * for the dry run). glibc refuses to load it ("ELF file OS ABI invalid"); dynplug opens and runs
 * it (tests/freebsd.rs). It has relocated data (RELATIVE, ABS64/R_X86_64_64 with an addend
 * against an import, GLOB_DAT), a call through the PLT to a host export, an initialiser, and
 * general-dynamic TLS (x86_64: __tls_get_addr, which dynplug serves; aarch64: TLS descriptors). */
extern int host_add(int a, int b);
extern int host_counter;

int counter = 41;
static int twice(int x) { return 2 * x; }
int (*fp_table[1])(int) = { twice };
int *counter_ptr = &counter;
int *host_counter_ptr = &host_counter + 2;

/* Runs at open: 41 -> 42 through the host. */
__attribute__((constructor)) static void init(void) { counter = host_add(counter, 1); }

int plugin_entry(int x) { return host_add(fp_table[0](x), counter) + host_counter; }

int pure_square(int x) { return x * x; }

static __thread int tls_var = 7;
/* This thread's value, then one more. */
int tls_next(void) { return tls_var++; }
