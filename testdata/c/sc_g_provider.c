/* Scope: exports sc_g_value; a plugin opened RTLD_GLOBAL (Loader::global) gives it to later
 * plugins, one opened RTLD_LOCAL does not. */
int sc_g_value(void) { return 7; }
