// build: -Wl,-rpath,$ORIGIN/dlx -Wl,--disable-new-dtags
/* DT_RPATH $ORIGIN/dlx: dlopen("dlxb_lib.so") finds it there, but glibc does not find what it
 * needs (dlxa_dep.so, also there) through this object's RPATH: the dlopen fails (-1). */
#define _GNU_SOURCE
#include <dlfcn.h>
int dlxc_call(void) {
    void *h = dlopen("dlxb_lib.so", RTLD_NOW);
    if (!h)
        return -1;
    int (*f)(void) = (int (*)(void))dlsym(h, "dlxb_value");
    return f ? f() : -2;
}
