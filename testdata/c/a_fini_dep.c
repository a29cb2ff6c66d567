// build: -Wl,-soname,a_fini_dep.so -Wl,-fini=dep_dt_fini
/* A library with DT_FINI and two DT_FINI_ARRAY entries; fini_plugin.c needs it. */
#include "fini_note.h"

void dep_dt_fini(void) { note("dep DT_FINI"); }
__attribute__((constructor)) static void dep_init(void) { note("dep init"); }
__attribute__((destructor)) static void dep_first(void) { note("dep fini_array[0]"); }
__attribute__((destructor)) static void dep_second(void) { note("dep fini_array[1]"); }
int fini_dep_value(void) { return 5; }
