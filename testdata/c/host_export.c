// build: -fno-builtin
/* Host exports come before the process's libraries: a host that exports `abs` replaces libc's
 * abs for this plugin's data pointer (R_X86_64_64) and for its calls and the address it takes
 * in code (one GLOB_DAT entry: ld routes calls of an address-taken function through it); without
 * that export the same relocations bind libc's abs. host_add, called through the PLT
 * (JUMP_SLOT), exists only in the host. host_bytes is a host array this plugin points into with a
 * positive and a negative addend (R_X86_64_64 against a host symbol: S + A). */
#include <stdlib.h>

extern int host_add(int, int);
extern char host_bytes[];

int he_call_abs(int x) { return abs(x); }
int he_call_host_add(int a, int b) { return host_add(a, b); }

int (*he_abs_ptr)(int) = abs;
void *he_abs_got(void) { return (void *)&abs; }

char *he_bytes_plus3 = &host_bytes[3];
char *he_bytes_minus2 = host_bytes - 2;
char *he_bytes_got(void) { return host_bytes; }
