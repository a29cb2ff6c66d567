// build: $OUT/sc_hl_dep.so -Wl,-rpath,$ORIGIN
/* Identity: needs sc_hl_dep.so. */
extern int sc_hl_dep_inits(void);
int sc_hl_user_dep_inits(void) { return sc_hl_dep_inits(); }
void *sc_hl_user_dep_address(void) { return (void *)sc_hl_dep_inits; }
