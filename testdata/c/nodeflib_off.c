// build: $OUT/stub/nodeflib_0zstub.so
/* nodeflib_on.c unmarked: its dependency libz.so.1 is found in the cache or the default
 * directories. */
extern const char *zlibVersion(void);
int zlib_major(void) { return zlibVersion()[0] - '0'; }
