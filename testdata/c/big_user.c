// build: $OUT/a_big_dep.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* A small plugin that needs a_big_dep.so (found through RUNPATH=$ORIGIN). */
extern int big_dep_touch(int i);
int big_user_value(void) { return big_dep_touch(42) + 1; }
