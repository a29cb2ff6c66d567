// build: -Wl,-soname,a_initcycle.so
/* A library whose initialiser calls the host, which opens, from inside it, a plugin that needs
 * this library while another thread is opening that same plugin: tests/loaded_once.rs checks
 * that neither thread waits for the other for ever. */
extern void initcycle_hook(void);
__attribute__((constructor)) static void init(void) { initcycle_hook(); }
int initcycle_value(void) { return 7; }
