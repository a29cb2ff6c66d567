// build: -Wl,-soname,sc_libb.so
/* Scope: the library sc_plugin.so needs. Exports sc_f (2), as sc_liba.so does (1). */
int sc_f(void) { return 2; }
