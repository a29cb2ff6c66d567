/* One plugin, linked by each linker tests/linkers.rs names: relocated read-only data (RELRO),
 * a writable variable, a function pointer and an initialiser. Not built by build.rs (it lives in
 * a subdirectory): the test links it itself, once per linker. */
#include <string.h>

static int counter;
int bump(void) { return ++counter; }

/* Pointers relocated at load, then read-only: .data.rel.ro, inside PT_GNU_RELRO. */
const char *const linked_names[] = {"zero", "one", "two"};
static int (*const op)(void) = bump;

__attribute__((constructor)) static void init(void) { counter = 40; }

/* 41 + 3 on the first call with i = 2. */
int linked_value(int i) { return op() + (int)strlen(linked_names[i]); }
