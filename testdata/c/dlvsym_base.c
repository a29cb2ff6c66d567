// build: -Wl,-rpath,$ORIGIN
/* dlvsym as a plugin calls it, served by dynplug: a_ver.so (next to this file, found through
 * this object's RPATH $ORIGIN) defines vfunc@VER_1 and plain at the base version only. */
#include <dlfcn.h>

/* 1 for vfunc@VER_1 found, plus 10 if plain@VER_1 is (glibc: it is not): 1. -1 if a_ver.so
 * does not open. */
int dlvsym_base(void) {
    void *h = dlopen("a_ver.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return -1;
    return (dlvsym(h, "vfunc", "VER_1") != 0) + 10 * (dlvsym(h, "plain", "VER_1") != 0);
}
