// build: -nostdlib
/* Imports nothing but what the host exports: loads in any host, static ones included. */
extern int host_add(int, int);
int plugin_main(void) { return host_add(2, 3) * 10; }
