// build: -fno-builtin
/* IFUNC resolvers run after every other relocation of the object: this resolver calls libc's
 * strlen through the PLT and reads a host variable through the GOT, so both must be bound
 * before it runs. Its choice reaches the program through an IRELATIVE relocation
 * (chosen_local), a call through the PLT to the object's own exported IFUNC (chosen), lookup of
 * that IFUNC, and a data pointer to it (R_X86_64_64 against an IFUNC symbol: the pointer is the
 * function the resolver chose). */
#include <string.h>

extern int host_choice;
int ifunc_resolver_calls;

static int impl_a(void) { return 10; }
static int impl_b(void) { return 20; }
static void *resolve_choice(void) {
    ifunc_resolver_calls++;
    return (strlen("abc") == 3 && host_choice == 2) ? (void *)impl_b : (void *)impl_a;
}
int chosen(void) __attribute__((ifunc("resolve_choice")));
static int chosen_local(void) __attribute__((ifunc("resolve_choice")));

int call_chosen(void) { return chosen(); }
int call_chosen_local(void) { return chosen_local(); }
int (*chosen_ptr)(void) = chosen;
