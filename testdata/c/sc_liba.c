// build: -Wl,-soname,sc_liba.so
/* Scope: the library a host opens RTLD_LOCAL. Exports sc_f (1), as sc_libb.so does (2). */
int sc_f(void) { return 1; }
int sc_a_only(void) { return 10; }
