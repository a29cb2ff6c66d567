// build: -Wl,-z,nodefaultlib $OUT/stub/nodeflib_0zstub.so
/* Marked DF_1_NODEFLIB (-z nodefaultlib): its dependency libz.so.1, which only the cache and the
 * default directories have, is not found (glibc: "cannot open shared object file"). Its twin
 * nodeflib_off.c, unmarked, finds it. */
extern const char *zlibVersion(void);
int zlib_major(void) { return zlibVersion()[0] - '0'; }
