// build: -Wl,-soname,sc_hl_dep.so
/* Identity: a library dynplug loads as sc_hl_user.so's dependency; a hard link to it opened as
 * a plugin is that copy, initialised once. */
static int inits;
__attribute__((constructor)) static void count_init(void) { inits++; }
int sc_hl_dep_inits(void) { return inits; }
