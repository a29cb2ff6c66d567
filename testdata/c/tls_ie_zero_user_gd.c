// build: $OUT/tls_ie_zero.so -Wl,-rpath,$ORIGIN -ftls-model=global-dynamic
/* Reaches tls_ie_zero.so's initial-exec variable through __tls_get_addr: the same block. */
extern __thread long iez_count;
long *iez_count_at_gd(void) { return &iez_count; }
