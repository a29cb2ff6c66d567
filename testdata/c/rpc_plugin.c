// build: $OUT/rp_z/rpb_libd.so -Wl,-rpath-link,$OUT/rp_x -Wl,-rpath,$ORIGIN/rp_z:$ORIGIN/rp_x -Wl,--disable-new-dtags
/* RPATH inheritance: DT_RPATH (not RUNPATH) $ORIGIN/rp_z:$ORIGIN/rp_x; needs rpb_libd.so (in
 * rp_z), which needs rpa_libe.so (in rp_x): glibc finds it through this object's RPATH. */
extern int rp_d(void);
int rp_call(void) { return rp_d() + 1; }
