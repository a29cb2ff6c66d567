// build: -mtls-dialect=gnu
// cross: aarch64 riscv64
/* Global- and local-dynamic TLS in the traditional dialect (__tls_get_addr: DTPMOD and DTPREL;
 * aarch64's default is descriptors, riscv has nothing else), for the offline relocation oracle. */
__thread int trad_init = 5;
__thread long trad_zero;
static __thread int trad_local = 9;
extern __thread int errno;

int trad_get(void) { return trad_init + (int)trad_zero + trad_local + errno; }
