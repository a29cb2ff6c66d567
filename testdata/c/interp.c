/* A library that can also run as a program, as libc, libcap or libsystemd can: it has a
 * PT_INTERP (from its .interp section) and no DF_1_PIE. dlopen ignores PT_INTERP; so must
 * dynplug (tests/core.rs). */
const char interp[] __attribute__((section(".interp"))) = "/lib64/ld-linux-x86-64.so.2";

int interp_answer(void) { return 42; }
