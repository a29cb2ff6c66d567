// build: $OUT/stub/cycle_0stub.so -Wl,-soname,cycle_a.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* cycle_a.so needs cycle_b.so, which needs cycle_a.so: the dependency search must end. */
extern int cycle_b_value(void);
int cycle_a_value(void) { return 1; }
int cycle_sum(void) { return cycle_a_value() + cycle_b_value(); }
