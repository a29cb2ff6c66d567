// build: $OUT/a_fini_dep.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags -Wl,-fini=plugin_dt_fini
/* A plugin whose finalisers (DT_FINI_ARRAY, DT_FINI) and atexit handler note themselves at
 * exit, after those of nothing it needs (a_fini_dep.so's run after its own). */
#include "fini_note.h"

extern int fini_dep_value(void);
static void at_exit(void) { note("plugin atexit"); }
void plugin_dt_fini(void) { note("plugin DT_FINI"); }
__attribute__((constructor)) static void plugin_init(void) {
    note("plugin init");
    atexit(at_exit);
}
__attribute__((destructor)) static void plugin_first(void) { note("plugin fini_array[0]"); }
__attribute__((destructor)) static void plugin_second(void) { note("plugin fini_array[1]"); }
int fini_value(void) { return fini_dep_value() + 1; }
