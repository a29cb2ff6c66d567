// build: -Wl,--version-script=$SRC/a_ver.map -Wl,-soname,a_ver.so
/* Two versions of one name: vfunc@VER_1 (returns 1) and the default vfunc@@VER_2 (returns 2),
 * and plain at the base version. */
int vfunc_1(void) { return 1; }
int vfunc_2(void) { return 2; }
__asm__(".symver vfunc_1, vfunc@VER_1");
__asm__(".symver vfunc_2, vfunc@@VER_2");
/* In no version node: defined at the base version (index 1). dlvsym(h, "plain", "VER_1") does
 * not find it (glibc's _dl_vsym takes only the version named); a reference to plain@VER_1 being
 * relocated would. */
int plain(void) { return 3; }
