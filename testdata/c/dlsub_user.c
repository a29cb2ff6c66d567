// build: -Wl,-rpath,$ORIGIN/dlsub -Wl,--enable-new-dtags
/* dlopen of a bare name: glibc searches the caller's RPATH chain and RUNPATH for it. */
#define _GNU_SOURCE
#include <dlfcn.h>
int dlsub_call(void) {
    void *h = dlopen("dlsub_lib.so", RTLD_NOW);
    if (!h)
        return -1;
    int (*f)(void) = (int (*)(void))dlsym(h, "dlsub_value");
    return f ? f() : -2;
}
