// build: $OUT/b_slow_init.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs b_slow_init.so; its own initialiser records whether that library's had finished. */
extern int b_slow_init_finished(void);
static int seen_at_init = -1;
__attribute__((constructor)) static void init(void) { seen_at_init = b_slow_init_finished(); }
int slow_user_b1_saw(void) { return seen_at_init; }
