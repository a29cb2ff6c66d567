// build: -Wl,-soname,a_dep_origin.so
int dep_origin_value(void) { return 1234; }
