// cross: aarch64 riscv64
/* One of each relocation a C compiler emits in a shared object, for the offline relocation oracle
 * (tests/offline_oracle.rs: glibc relocates it, dynplug's offline relocation must produce the same
 * bytes): data pointers with addends to libc (ABS64 / R_RISCV_64), GOT entries (GLOB_DAT),
 * PLT slots (JUMP_SLOT), local pointers (RELATIVE), a local IFUNC (IRELATIVE), an exported IFUNC
 * bound through the GOT and a data pointer, initial-exec TLS against libc's errno and the
 * object's own block (TPREL), and global-dynamic TLS (DTPMOD/DTPREL; TLS descriptors on aarch64,
 * whose default dialect they are). */
#include <stdlib.h>
#include <string.h>

extern char **environ;
extern __thread int errno __attribute__((tls_model("initial-exec")));

/* Data relocations against libc, with and without addends. */
char ***kinds_environ_at = &environ;
char *kinds_strlen_plus = (char *)&strlen + 5;
void *kinds_getenv = (void *)&getenv;

/* RELATIVE: local pointers. */
static int kinds_table[4] = {1, 2, 3, 4};
int *kinds_local[3] = {&kinds_table[0], &kinds_table[2], &kinds_table[3]};

/* IFUNCs: a local one (IRELATIVE) and an exported one (its symbol bound to the resolver's
 * choice). */
static int pick_one(void) { return 1; }
static int pick_two(void) { return 2; }
static int (*resolve_local(void))(void) { return pick_two; }
static int (*resolve_chosen(void))(void) { return pick_one; }
static int kinds_local_ifunc(void) __attribute__((ifunc("resolve_local")));
int kinds_chosen(void) __attribute__((ifunc("resolve_chosen")));
int (*kinds_chosen_ptr)(void) = kinds_chosen;
int (*kinds_local_ifunc_ptr)(void) = kinds_local_ifunc;

/* Thread-local: initial-exec against libc and against the object's own block, and global
 * dynamic (the default for -fPIC). */
__thread int kinds_ie_own __attribute__((tls_model("initial-exec"))) = 11;
__thread int kinds_gd = 7;
static __thread long kinds_gd_local;

int kinds_use(const char *s) {
    kinds_gd_local += kinds_gd + kinds_ie_own;
    return (int)strlen(s) + atoi(s) + errno + kinds_chosen() + kinds_local_ifunc()
           + (environ != NULL) + (int)kinds_gd_local + (getenv("HOME") != NULL);
}
