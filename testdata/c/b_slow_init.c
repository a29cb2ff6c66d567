// build: -Wl,-soname,b_slow_init.so
/* a_slow_init.c under other names, for a second test in the same process (a library is loaded
 * once per process): tests/loaded_once.rs opens a second plugin that needs it while its
 * initialiser runs for the first; that plugin's initialisers must wait for it. */
#define SLOW_STARTED slow_init_started_b
#define SLOW_FINISHED b_slow_init_finished
#include "a_slow_init.c"
