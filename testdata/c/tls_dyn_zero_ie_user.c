// build: $OUT/tls_dyn_zero.so -Wl,-rpath,$ORIGIN -ftls-model=initial-exec
/* An initial-exec reference to another module's TLS (as libGL's to libGLdispatch's). */
extern __thread long dz_value;
long *dz_value_at_ie(void) { return &dz_value; }
