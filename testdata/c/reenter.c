/* Its initialiser calls back into the host, which opens plugins from there. */
extern void host_in_init(void);
int reenter_done;
__attribute__((constructor)) static void init(void) { host_in_init(); reenter_done = 1; }
