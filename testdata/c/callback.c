/* Calls the host back from a real frame of the plugin (not a tail call), so that a backtrace
 * taken in the callback must unwind through this module. */
static volatile int after;
void call_back(void (*cb)(void)) {
    cb();
    after++;
}
