// build: -Wl,-soname,b_slow_init.so
/* As a_slow_init.c, for a second test in the same process (a library is loaded once per
 * process): tests/loaded_once.rs opens a second plugin that needs it while its initialiser
 * runs for the first; that plugin's initialisers must wait for it. */
#include <time.h>

extern void slow_init_started_b(void);
static int finished;

__attribute__((constructor)) static void init(void) {
    slow_init_started_b();
    struct timespec t = {0, 300 * 1000 * 1000};
    nanosleep(&t, 0);
    finished = 1;
}

int b_slow_init_finished(void) { return finished; }
