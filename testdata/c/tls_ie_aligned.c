// build: -ftls-model=initial-exec
/* Initial-exec TLS aligned beyond dynplug's static TLS reserve: refused, saying so. */
__thread char ie_aligned[16] __attribute__((aligned(4096)));
char *ie_aligned_at(void) { return ie_aligned; }
