// build: -fvisibility=hidden
/* A plugin that exports nothing and registers itself from its constructor (a common plugin
 * shape). Its GNU hash table is empty, with symoffset 1: it says nothing of the imports after
 * index 1 (tests/core.rs). */
extern void no_exports_register(int value) __attribute__((visibility("default")));

__attribute__((constructor)) static void registers(void) { no_exports_register(7); }
