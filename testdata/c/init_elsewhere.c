// build: $OUT/a_init_dep.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* DT_INIT_ARRAY entries that are other modules' functions, bound through symbols: init_dep_mark
 * (a_init_dep.so, which dynplug loads for this library) and libc's tzset. glibc calls them as
 * initialisers; so must dynplug (tests/core.rs). */
#include <time.h>
extern void init_dep_mark(void);
__attribute__((section(".init_array"), used)) static void (*entries[])(void) = {init_dep_mark,
                                                                                tzset};
int init_elsewhere_loaded(void) { return 1; }
