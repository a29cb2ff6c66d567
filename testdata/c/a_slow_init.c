// build: -Wl,-soname,a_slow_init.so
/* A library whose initialiser takes a while: it tells the host it started (an import the host
 * exports), sleeps, then marks itself done. tests/loaded_once.rs opens it from a second thread
 * while it is being initialised for slow_user.so: that open must return only once it is done.
 * b_slow_init.c is this file under other names. */
#include <time.h>

#ifndef SLOW_STARTED
#define SLOW_STARTED slow_init_started
#define SLOW_FINISHED slow_init_finished
#endif

extern void SLOW_STARTED(void);
static int finished;

__attribute__((constructor)) static void init(void) {
    SLOW_STARTED();
    struct timespec t = {0, 300 * 1000 * 1000};
    nanosleep(&t, 0);
    finished = 1;
}

int SLOW_FINISHED(void) { return finished; }
