// build: -Wl,-z,pack-relative-relocs
/* One symbol or pointer per relocation kind the compiler emits in a shared object; the tests
 * check each value against the formula, so a wrong formula fails a test. */
#include <string.h>

/* R_X86_64_64 against a preemptible symbol, with and without an addend. */
int answer = 42;
int *abs_ptr = &answer;
char *abs_addend = (char *)&answer + 3;

/* RELATIVE (packed into DT_RELR by -z pack-relative-relocs): a pointer to static data + offset. */
static int table[4] = {10, 20, 30, 40};
int *rel_ptr = &table[2];

/* GLOB_DAT against a host export. */
extern int host_value;
int read_host_value(void) { return host_value; }

/* An unresolved weak import binds to 0. */
extern int weak_missing __attribute__((weak));
int *weak_ptr = &weak_missing;
int weak_is_null(void) { return &weak_missing == 0; }

/* JUMP_SLOT: a call through the PLT into libc. */
size_t call_strlen(const char *s) { return strlen(s); }

/* Versioned imports: the default memcpy@@GLIBC_2.14 and the old memcpy@GLIBC_2.2.5 (x86_64's
 * versions; aarch64's and riscv64's glibc have one memcpy, so no old one there). */
void *memcpy_new = (void *)&memcpy;
#ifdef __x86_64__
extern void *memcpy_old_sym(void *, const void *, size_t);
__asm__(".symver memcpy_old_sym, memcpy@GLIBC_2.2.5");
void *memcpy_old = (void *)&memcpy_old_sym;
#endif

/* IFUNCs: a global one (lookup calls its resolver) and a static one (IRELATIVE). */
static int impl_one(void) { return 1; }
static int impl_two(void) { return 2; }
static void *pick(void) { return table[0] == 10 ? (void *)impl_two : (void *)impl_one; }
int picked(void) __attribute__((ifunc("pick")));
static int hidden_picked(void) __attribute__((ifunc("pick")));
int call_hidden_picked(void) { return hidden_picked(); }
int call_picked(void) { return picked(); }

/* Not exported: hidden and static symbols. */
__attribute__((visibility("hidden"))) int hidden_var = 1;
static int static_var = 2;
int use_static(void) { return static_var + hidden_var; }
/* Protected: exported, bound locally. */
__attribute__((visibility("protected"))) int protected_var = 3;
