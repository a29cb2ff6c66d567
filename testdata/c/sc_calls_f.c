/* Scope: imports sc_f without needing any library for it: only the global scope can give it. */
extern int sc_f(void);
int sc_call_f(void) { return sc_f(); }
