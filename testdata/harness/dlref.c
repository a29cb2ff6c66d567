/* The reference for dynplug's tests: what glibc's dlopen does with the same files, in a process
 * of its own. Each argument pair is one step, run in order; each step prints one line:
 *   local PATH | global PATH   dlopen(PATH, RTLD_NOW | RTLD_LOCAL / RTLD_GLOBAL): "ok", or "error"
 *                              (the handle, if any, becomes the current one)
 *   call SYM                   int SYM(void) of the current handle: its result
 *   has SYM                    1 if dlsym(current handle, SYM) finds it, else 0
 * A step that cannot run (no handle, no such function to call) exits with status 2. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    void *current = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *step = argv[i], *arg = argv[i + 1];
        if (!strcmp(step, "local") || !strcmp(step, "global")) {
            int mode = RTLD_NOW | (!strcmp(step, "global") ? RTLD_GLOBAL : RTLD_LOCAL);
            void *h = dlopen(arg, mode);
            if (h)
                current = h;
            printf("%s\n", h ? "ok" : "error");
        } else if (!strcmp(step, "call")) {
            int (*f)(void) = current ? (int (*)(void))dlsym(current, arg) : NULL;
            if (!f) {
                fprintf(stderr, "dlref: no function %s\n", arg);
                return 2;
            }
            printf("%d\n", f());
        } else if (!strcmp(step, "has")) {
            printf("%d\n", current && dlsym(current, arg) ? 1 : 0);
        } else {
            fprintf(stderr, "dlref: unknown step %s\n", step);
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
