/* A library whose initialiser is slow (it sleeps in the host's host_pause) and then marks it has
   run: two plugins that need it, opened on two threads, must both see it ready. */
extern void host_pause(void);
int slow_ready;
__attribute__((constructor)) static void init(void) {
    host_pause();
    slow_ready = 1;
}
