// build: $OUT/a_dep_origin.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* Needs a_dep_origin.so, found through RUNPATH=$ORIGIN. */
extern int dep_origin_value(void);
int user_origin(void) { return dep_origin_value() + 1; }
