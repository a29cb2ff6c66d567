/* Re-exported by libmacho_reexport_outer.dylib: the user binds inner_value through it. */
int inner_value(void) { return 77; }
