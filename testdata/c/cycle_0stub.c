// build: -Wl,-soname,cycle_b.so
// out: stub
/* Link-time stand-in with cycle_b.so's soname, so that cycle_a.so can be linked to need it
 * before cycle_b.so (which needs cycle_a.so) exists. Never loaded. */
int cycle_b_value(void) { return -1; }
