// build: $OUT/tls_ie_zero.so -Wl,-rpath,$ORIGIN -mtls-dialect=gnu2
/* Reaches tls_ie_zero.so's initial-exec variable through a TLS descriptor: the same block. */
extern __thread long iez_count;
long *iez_count_at_desc(void) { return &iez_count; }
