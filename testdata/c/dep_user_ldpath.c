// build: $OUT/ldpath/a_dep_ldpath.so
/* Needs a_dep_ldpath.so, found only through LD_LIBRARY_PATH. */
extern int dep_ldpath_value(void);
int user_ldpath(void) { return dep_ldpath_value() + 1; }
