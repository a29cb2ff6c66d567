// build: -static-libstdc++ -static-libgcc
/* A C++ plugin carrying its own unwinder (libgcc and libstdc++ linked in statically): its throw
 * finds the frames through _dl_find_object, which must answer as glibc's does. */
#include <dlfcn.h>
#include <link.h>
#include <stdexcept>

extern "C" int static_rt_throw(int n) {
    try {
        if (n > 0) throw std::runtime_error("thrown");
        return 0;
    } catch (const std::exception &) {
        return n;
    }
}

/* What _dl_find_object says of this function, as offsets from the link map's l_addr: out[0]
 * map start, out[1] map end, out[2] eh_frame; out[3] 1 if dlfo_link_map is what dlinfo
 * (RTLD_DI_LINKMAP) gives for a handle of this library. Returns 0, or -1 on a failed query. */
extern "C" int static_rt_find(long *out) {
    struct dl_find_object f;
    if (_dl_find_object((void *)&static_rt_find, &f) != 0 || f.dlfo_link_map == 0) return -1;
    Dl_info info;
    if (dladdr((void *)&static_rt_find, &info) == 0) return -1;
    void *h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    struct link_map *map = 0;
    if (h == 0 || dlinfo(h, RTLD_DI_LINKMAP, &map) != 0) return -1;
    long base = (long)f.dlfo_link_map->l_addr;
    out[0] = (long)f.dlfo_map_start - base;
    out[1] = (long)f.dlfo_map_end - base;
    out[2] = (long)f.dlfo_eh_frame - base;
    out[3] = map == f.dlfo_link_map;
    return 0;
}
