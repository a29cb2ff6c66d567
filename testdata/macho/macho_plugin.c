/* A Mach-O plugin: relocated data pointers (rebases), calls to a host export (flat binds through
   -undefined dynamic_lookup), a weak import, a weak definition (the weak-bind stream), a bind with
   an addend into macho_dep.c, an initialiser that calls an import, thread-local variables. */
extern int host_add(int a, int b);
extern int host_opt(void) __attribute__((weak_import));
extern int dep_mul(int a, int b);
extern int dep_value;
__attribute__((weak)) int wdef(int x) { return x + 1; }
int counter = 41;
static int twice(int x) { return 2 * x; }
int (*fp_table[2])(int) = { twice, wdef };
int *counter_ptr = &counter;
int *counter_ptr_off = &counter + 3;
int *dep_value_ptr_off = &dep_value + 2;
int (*import_ptr)(int, int) = host_add;
int (*opt_ptr)(void) = host_opt;
__attribute__((constructor)) static void init(void) { counter = host_add(counter, 1); }
int plugin_add(int a, int b) { return host_add(a, b) + dep_mul(dep_value, 2) + wdef(0); }
__thread int tls_var = 7;
__thread int tls_zero;
int get_tls(void) { return tls_var + tls_zero + (host_opt ? host_opt() : 0); }
