// build: -mtls-dialect=gnu2
// cross: aarch64
/* The same through TLS descriptors (R_X86_64_TLSDESC). */
__thread int desc_init = 9;
__thread long desc_zero;
static __thread int desc_local = 200;
int desc_get(void) { return desc_init + (int)desc_zero + desc_local; }
void desc_set(int v) { desc_init = v; desc_zero = v; desc_local = v; }
int *desc_addr(void) { return &desc_init; }
