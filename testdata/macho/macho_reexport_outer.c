/* Re-exports libmacho_reexport_inner.dylib (LC_REEXPORT_DYLIB): its own trie lists only outer_value. */
int outer_value(void) { return 1; }
