// build: $OUT/unvstub/a_unvstub.so -Wl,-rpath,$ORIGIN
/* An unversioned reference to vfunc, bound into a_ver.so (found next to this file). */
extern int vfunc(void);
int unv_call(void) { return vfunc(); }
