// build: $OUT/b_once.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs b_once.so (found through RUNPATH=$ORIGIN) and hands out its state's address. */
extern int *b_once_state_at(void);
int *user_b_state(void) { return b_once_state_at(); }
