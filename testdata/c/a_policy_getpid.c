// build: -Wl,-soname,a_policy_getpid.so
/* A library that imports getpid: a plugin opened under deny_imports(["getpid"]) may not load
 * it, nor be handed it (tests/policy_holes.rs). */
#include <unistd.h>

int policy_pid(void) { return (int)getpid(); }
