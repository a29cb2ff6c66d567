// build: -Wl,-soname,libz.so.1
// out: stub
/* Stands in for zlib at link time only, so that nodeflib_on.so and nodeflib_off.so need
 * "libz.so.1" without zlib's development files: at run time the system's libz.so.1 is searched
 * for (in the cache and the default directories, where only it lies). */
const char *zlibVersion(void) { return "0-stub"; }
