// build: -O0 $OUT/a_crash_dep.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* For debuggers (tests/gdb.rs): a function to break on, one that reads through NULL. */
extern int crash_dep_value(int x);

int plugin_fn(int x) { return crash_dep_value(x) * 2; }

int crash_here(volatile int *p) {
    return *p + 1; /* the faulting line */
}

int crash(void) { return crash_here(0); }
