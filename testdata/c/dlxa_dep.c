// build: -Wl,-soname,dlxa_dep.so
// out: dlx
/* Needed by dlxb_lib.so, which has no RPATH. glibc does not look for it through the RPATH of
 * dlxc_user.so, which dlopen'ed dlxb_lib.so: a dlopen'ed object has no loader chain. */
int dlxa_value(void) { return 3; }
