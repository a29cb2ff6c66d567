// build: $OUT/sc_liba.so -Wl,-rpath,$ORIGIN
/* Scope: needs sc_liba.so, which the host may have opened RTLD_LOCAL: that copy, in this
 * plugin's own scope, gives sc_f (1). */
extern int sc_f(void);
int sc_call_a(void) { return sc_f(); }
void *sc_f_address(void) { return (void *)sc_f; }
