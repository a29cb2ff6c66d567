// build: -O0 $OUT/a_crash_dep.so -Wl,-rpath,$ORIGIN -Wl,--enable-new-dtags
/* For debuggers (tests/gdb.rs): a function to break on, one that reads through NULL. */
extern int crash_dep_value(int x);

int plugin_fn(int x) { return crash_dep_value(x) * 2; }

int crash_here(volatile int *p) {
    return *p + 1; /* the faulting line */
}

int crash(void) { return crash_here(0); }

/* Work for a profiler to sample (perf, tests/perf_map.rs). */
long plugin_spin(long n) {
    volatile long acc = 0;
    for (long i = 0; i < n; i++) acc += i ^ (acc >> 3);
    return acc;
}
