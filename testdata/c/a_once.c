// build: -Wl,-soname,a_once.so
/* A library with state and an initialiser, reached both as a dependency (of once_user_a.so)
 * and as a plugin: tests/loaded_once.rs checks there is one copy, initialised once. */
int a_once_state;
static int inits;
__attribute__((constructor)) static void count_init(void) { inits++; }
int *a_once_state_at(void) { return &a_once_state; }
int a_once_init_count(void) { return inits; }
