// build: -Wl,-soname,a_crash_dep.so
/* A library crash.so needs: dynplug loads it, and gdb must see it too (tests/gdb.rs). */
int crash_dep_value(int x) { return x + 100; }
