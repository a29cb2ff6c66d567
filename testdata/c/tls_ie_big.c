// build: -ftls-model=initial-exec
/* Initial-exec TLS larger than dynplug's static TLS reserve: refused, saying so. */
__thread char ie_big[4096];
char *ie_big_at(void) { return ie_big; }
