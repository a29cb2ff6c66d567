/* Needs libmacho_slow_dep.dylib: its initialiser records whether the library's had finished. */
extern int slow_ready;
int saw_ready = -1;
__attribute__((constructor)) static void init(void) { saw_ready = slow_ready; }
