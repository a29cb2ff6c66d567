// build: -ftls-model=global-dynamic
/* Zero-initialised TLS reached through __tls_get_addr only: its blocks are made per thread on
 * first use, so a later initial-exec reference to it cannot be honoured. */
__thread long dz_value;
long *dz_value_at(void) { return &dz_value; }
