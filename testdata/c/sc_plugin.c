// build: $OUT/sc_libb.so -Wl,-rpath,$ORIGIN
/* Scope: needs sc_libb.so and calls sc_f, which sc_liba.so (opened RTLD_LOCAL by the host)
 * exports too: glibc binds sc_libb's (2). dlsym(RTLD_DEFAULT) does not see sc_liba either. */
#define _GNU_SOURCE
#include <dlfcn.h>
extern int sc_f(void);
int sc_call(void) { return sc_f(); }
int sc_default_sees_a(void) { return dlsym(RTLD_DEFAULT, "sc_a_only") != 0; }
int sc_default_sees_own(void) { return dlsym(RTLD_DEFAULT, "sc_call") != 0; }
