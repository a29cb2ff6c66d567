// build: $OUT/cycle_a.so -Wl,-soname,cycle_b.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* The other half of the cycle. */
extern int cycle_a_value(void);
int cycle_b_value(void) { return cycle_a_value() + 10; }
