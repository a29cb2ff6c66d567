// cross: aarch64 riscv64
// build: -mtls-dialect=gnu
/* Thread-local variables in the general-dynamic model (__tls_get_addr, not descriptors: the
 * traditional dialect on every machine), initialised and zero. */
__thread int tls_init = 7;
__thread long tls_zero;
static __thread int tls_local = 100;
int tls_get(void) { return tls_init + (int)tls_zero + tls_local; }
void tls_set(int v) { tls_init = v; tls_zero = v; tls_local = v; }
int *tls_addr(void) { return &tls_init; }
