// build: -ftls-model=initial-exec
/* Initial-exec TLS whose image is all zero (.tbss, and a .tdata holding only zeros): dynplug
 * places it in its static TLS reserve, one block per thread. */
__thread long iez_count;
__thread int iez_zeroed __attribute__((section(".tdata"))) = 0;
static __thread char iez_local[40];

long iez_add(long v) {
    iez_count += v;
    iez_local[39] += 1;
    return iez_count + iez_zeroed;
}
int iez_local_hits(void) { return iez_local[39]; }
long *iez_count_at(void) { return &iez_count; }
