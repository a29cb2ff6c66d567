// build: -D_GNU_SOURCE
/* Asks the process about its modules: dl_iterate_phdr, dladdr and dlopen/dlsym must answer for
 * this module (loaded by dynplug) and the libraries dynplug loads for it. */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

int dlapi_marker(void) { return 99; }

static int found_self;
static int count;
static int cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    count++;
    if (info->dlpi_name && strstr(info->dlpi_name, (const char *)data)) found_self = 1;
    return 0;
}

/* 1 if dl_iterate_phdr lists a module whose name contains `needle`. */
int dlapi_iterate_finds(const char *needle) {
    found_self = 0;
    count = 0;
    dl_iterate_phdr(cb, (void *)needle);
    return found_self && count > 1;
}

/* dladdr on our own function: file name and symbol. */
const char *dlapi_addr_file(void) {
    Dl_info info;
    if (!dladdr((void *)&dlapi_marker, &info)) return 0;
    return info.dli_fname;
}
const char *dlapi_addr_symbol(void) {
    Dl_info info;
    if (!dladdr((void *)&dlapi_marker, &info)) return 0;
    return info.dli_sname;
}

/* dlopen + dlsym of a library by path, served by dynplug. */
int dlapi_open_call(const char *path, const char *sym) {
    void *h = dlopen(path, RTLD_NOW);
    if (!h) return -1;
    int (*f)(void) = (int (*)(void))dlsym(h, sym);
    if (!f) return -2;
    return f();
}

/* dlsym in the global scope. */
void *dlapi_default(const char *sym) { return dlsym(RTLD_DEFAULT, sym); }
const char *dlapi_error(void) { return dlerror(); }

/* dladdr on any address: the file and symbol names, or 0 if none. */
int dlapi_addr_of(void *p, const char **file, const char **sym) {
    Dl_info info;
    if (!dladdr(p, &info)) return 0;
    *file = info.dli_fname;
    *sym = info.dli_sname;
    return 1;
}

/* strlen found by dlsym in the global scope, then called: glibc's is an IFUNC, so the answer
 * must be the implementation its resolver picks, not the resolver. -1: not found. */
long dlapi_default_strlen(const char *s) {
    size_t (*f)(const char *) = (size_t(*)(const char *))dlsym(RTLD_DEFAULT, "strlen");
    return f ? (long)f(s) : -1;
}

/* The same through dlvsym(RTLD_NEXT, ...), as an interposer finds what it wraps. */
long dlapi_next_strlen(const char *s, const char *version) {
    size_t (*f)(const char *) = (size_t(*)(const char *))dlvsym(RTLD_NEXT, "strlen", version);
    return f ? (long)f(s) : -1;
}

/* dlopen and dlsym as they are, for the host to check the handles. */
void *dlapi_open(const char *name) { return dlopen(name, RTLD_NOW); }
void *dlapi_sym(void *handle, const char *name) { return dlsym(handle, name); }

/* dlinfo on a handle dlopen gave: the link map's name and load address, and the origin. */
const char *dlapi_link_map(void *h, unsigned long *addr) {
    struct link_map *lm = 0;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return 0;
    *addr = lm->l_addr;
    return lm->l_name;
}
int dlapi_origin(void *h, char *buf) { return dlinfo(h, RTLD_DI_ORIGIN, buf); }
