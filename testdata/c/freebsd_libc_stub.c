// cc: clang
// build: --target=$ARCH-unknown-freebsd13 -nostdlib -fuse-ld=lld -Wl,-soname,libc.so.7 -Wl,--version-script=$SRC/freebsd_libc_stub.map
// out: freebsd
/* A stand-in for FreeBSD's C library (libc.so.7, versions FBSD_1.0 and FBSD_1.7), for linking
 * freebsd_libc_user.c only: its imports then carry FreeBSD's versions, as against the real one.
 * Never opened (it is not FreeBSD's libc). */
int puts(const char *s) { return s != 0; }
void *malloc(unsigned long n) { return (void *)n; }
int getentropy(void *buf, unsigned long n) { return buf != 0 && n != 0; }
