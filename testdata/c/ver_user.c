// build: $OUT/a_ver.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Imports the non-default vfunc@VER_1 and the default vfunc (VER_2) of a_ver.so. */
extern int vfunc_old(void);
__asm__(".symver vfunc_old, vfunc@VER_1");
extern int vfunc(void);
int call_old(void) { return vfunc_old(); }
int call_default(void) { return vfunc(); }
