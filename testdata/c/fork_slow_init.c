/* A plugin whose initialiser takes a moment: tests/fork.rs forks while other threads open
 * copies of it, so that some forks happen while an initialiser runs. */
#include <time.h>

static int ready;

__attribute__((constructor)) static void init(void) {
    struct timespec t = {0, 300 * 1000};
    nanosleep(&t, 0);
    ready = 1;
}

int fork_ready(void) { return ready; }
