// build: -Wl,--no-as-needed $OUT/rtnext_0lib.so -Wl,-rpath,$ORIGIN
/* Defines `which` as its library rtnext_0lib.so does. dlsym(RTLD_DEFAULT) from here finds its
 * own (glibc: the caller's scope, the plugin first); dlsym(RTLD_NEXT) the next one after it in
 * its scope, the library's, as an interposer finds what it wraps. */
#define _GNU_SOURCE
#include <dlfcn.h>

int which(void) { return 1; }

static int call(void *handle) {
    int (*f)(void) = (int (*)(void))dlsym(handle, "which");
    return f ? f() : -1;
}

int default_which(void) { return call(RTLD_DEFAULT); }
int next_which(void) { return call(RTLD_NEXT); }
/* No definition after the library: none. */
int next_missing(void) { return dlsym(RTLD_NEXT, "rtnext_nowhere") == 0; }
