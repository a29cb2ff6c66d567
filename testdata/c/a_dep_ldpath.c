// build: -Wl,-soname,a_dep_ldpath.so
// out: ldpath
/* A library found only through LD_LIBRARY_PATH (it lives in a subdirectory). */
int dep_ldpath_value(void) { return 5678; }
