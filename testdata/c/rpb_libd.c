// build: $OUT/rp_x/rpa_libe.so -Wl,-soname,rpb_libd.so
// out: rp_z
/* RPATH inheritance: no RPATH or RUNPATH of its own; needs rpa_libe.so (in rp_x). */
extern int rp_e(void);
int rp_d(void) { return rp_e() * 10; }
