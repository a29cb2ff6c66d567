// build: -fno-builtin
/* Scope order: this plugin defines its own (default visibility, so preemptible) `abs` and
 * `scope_own`, and calls both through the PLT. The process's modules come before the plugin
 * itself, so the call to abs binds libc's abs (5 for -5, not this plugin's 77); scope_own is
 * defined nowhere else, so it binds this plugin's own. lookup searches only the plugin: it
 * finds this plugin's abs. */
int abs(int x) { (void)x; return 77; }
int scope_own(void) { return 11; }
int scope_call_abs(int x) { return abs(x); }
int scope_call_own(void) { return scope_own(); }
