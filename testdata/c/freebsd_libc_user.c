// cc: clang
// build: --target=$ARCH-unknown-freebsd13 -nostdlib -fuse-ld=lld $OUT/freebsd/freebsd_libc_stub.so
/* A FreeBSD shared object that calls its C library: DT_NEEDED libc.so.7, imports puts@FBSD_1.0,
 * malloc@FBSD_1.0 and getentropy@FBSD_1.7 (linked against freebsd_libc_stub.c). On Linux the
 * dry run names these imports and the missing libc.so.7: glibc cannot serve FreeBSD's C library
 * (its structures and versions differ). */
extern int puts(const char *s);
extern void *malloc(unsigned long n);
extern int getentropy(void *buf, unsigned long n);

void *kept;

int say(void) {
    char b[8];
    kept = malloc(8);
    return puts("hello from FreeBSD") + getentropy(b, sizeof b);
}
