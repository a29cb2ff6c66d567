// build: -Wl,-soname,rpa_libe.so
// out: rp_x
/* RPATH inheritance: needed by rpb_libd.so (which has no RPATH), found only through the RPATH of
 * the plugin that needs rpb_libd.so (rpc_plugin.so: RPATH $ORIGIN/rp_z:$ORIGIN/rp_x). */
int rp_e(void) { return 5; }
