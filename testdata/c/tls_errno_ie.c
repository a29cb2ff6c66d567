/* Initial-exec TLS against the C library (errno@GLIBC_PRIVATE, as libm and libc_malloc_debug
 * use it): a fixed offset from the thread pointer, whichever thread opens the plugin. */
extern __thread int errno __attribute__((tls_model("initial-exec")));
int *errno_ie_at(void) { return &errno; }
