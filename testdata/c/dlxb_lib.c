// build: $OUT/dlx/dlxa_dep.so -Wl,-soname,dlxb_lib.so
// out: dlx
/* Opened by dlxc_user.so with dlopen("dlxb_lib.so"); no RPATH of its own. */
extern int dlxa_value(void);
int dlxb_value(void) { return dlxa_value() * 10; }
