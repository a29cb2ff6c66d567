// build: -ftls-model=initial-exec
/* Initial-exec TLS inside a module dynplug loads: refused at open, naming module and symbol. */
__thread int ie_var = 3;
int ie_get(void) { return ie_var; }
