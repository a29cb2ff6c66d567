// build: -Wl,--version-script=$SRC/visibility.map
/* What lookup finds (tests/lookup.rs): defined symbols of global or weak binding and default
 * or protected visibility, here all under the default version VIS_1 (vis_x@@VIS_1); not hidden,
 * internal or static ones, nor one the version script makes local. */
int vis_default = 1;
int vis_default_fn(void) { return 1; }
__attribute__((weak)) int vis_weak = 2;
__attribute__((weak)) int vis_weak_fn(void) { return 2; }
__attribute__((visibility("protected"))) int vis_protected = 3;
__attribute__((visibility("protected"))) int vis_protected_fn(void) { return 3; }
__attribute__((visibility("hidden"))) int vis_hidden = 4;
__attribute__((visibility("hidden"))) int vis_hidden_fn(void) { return 4; }
__attribute__((visibility("internal"))) int vis_internal = 5;
static int vis_static = 6;
int vis_script_local = 7;
int vis_script_local_fn(void) { return 7; }

/* Keeps the non-exported ones alive. */
int vis_sum_unexported(void) {
    return vis_hidden + vis_hidden_fn() + vis_internal + vis_static + vis_script_local +
           vis_script_local_fn();
}
