// build: -Wl,-soname,a_ver.so
// out: unvstub
/* An unversioned stand-in for a_ver.so: unv_user.so links against it, so its reference to
 * vfunc carries no version; at run time it binds into the real a_ver.so (vfunc@VER_1, index 2,
 * and vfunc@@VER_2), where glibc takes VER_1. */
int vfunc(void) { return 0; }
