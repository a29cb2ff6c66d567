// cc: clang
// build: --target=$ARCH-unknown-freebsd13 -nostdlib -fuse-ld=lld
// cross: aarch64
/* A FreeBSD object with an IFUNC (EI_OSABI 9, built as freebsd_plugin.c is): its resolver keeps
 * the arguments it was called with, which are FreeBSD rtld's, not glibc's (rtld_machdep.h
 * `call_ifunc_resolver`): on amd64 the four CPUID words `cpu_feature`, `cpu_feature2`,
 * `cpu_stdext_feature`, `cpu_stdext_feature2`; on aarch64 eight zeros. `twice` is called
 * through the PLT (`call_twice`), through an IRELATIVE slot (`call_twice_hidden`) and looked up
 * (tests/freebsd.rs). */
typedef int (*impl_fn)(int);

unsigned long seen[8] = {1, 1, 1, 1, 1, 1, 1, 1};
int resolver_calls;

static int twice_impl(int x) { return 2 * x; }

#if defined(__x86_64__)
static impl_fn resolve_twice(unsigned a, unsigned b, unsigned c, unsigned d) {
    seen[0] = a;
    seen[1] = b;
    seen[2] = c;
    seen[3] = d;
    resolver_calls++;
    return twice_impl;
}
#else
static impl_fn resolve_twice(unsigned long a, unsigned long b, unsigned long c, unsigned long d,
                             unsigned long e, unsigned long f, unsigned long g, unsigned long h) {
    unsigned long args[8] = {a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; i++)
        seen[i] = args[i];
    resolver_calls++;
    return twice_impl;
}
#endif

/* Exported: bound through the PLT (JUMP_SLOT) and by lookup. */
int twice(int x) __attribute__((ifunc("resolve_twice")));
/* Hidden: an IRELATIVE relocation. */
__attribute__((visibility("hidden"))) int twice_hidden(int x) __attribute__((ifunc("resolve_twice")));

int call_twice(int x) { return twice(x); }
int call_twice_hidden(int x) { return twice_hidden(x); }
