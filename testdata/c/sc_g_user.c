/* Scope: imports sc_g_value, which only a plugin in the global scope (sc_g_provider.so opened
 * RTLD_GLOBAL) can give. */
extern int sc_g_value(void);
int sc_g_call(void) { return sc_g_value(); }
