// build: -Wl,-soname,a_slow_init.so
/* A library whose initialiser takes a while: it tells the host it started (an import the host
 * exports), sleeps, then marks itself done. tests/loaded_once.rs opens it from a second thread
 * while it is being initialised for slow_user.so: that open must return only once it is done. */
#include <time.h>

extern void slow_init_started(void);
static int finished;

__attribute__((constructor)) static void init(void) {
    slow_init_started();
    struct timespec t = {0, 300 * 1000 * 1000};
    nanosleep(&t, 0);
    finished = 1;
}

int slow_init_finished(void) { return finished; }
