// build: $OUT/a_once.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs a_once.so (found through RUNPATH=$ORIGIN) and hands out its state's address. */
extern int *a_once_state_at(void);
int *user_a_state(void) { return a_once_state_at(); }
