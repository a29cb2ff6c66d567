// build: $OUT/a_initcycle.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs a_initcycle.so. */
extern int initcycle_value(void);
int initcycle_p_value(void) { return initcycle_value(); }
