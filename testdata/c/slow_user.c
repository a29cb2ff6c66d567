// build: $OUT/a_slow_init.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs a_slow_init.so (found through RUNPATH=$ORIGIN). */
extern int slow_init_finished(void);
int slow_user_sees(void) { return slow_init_finished(); }
