// build: -fno-builtin -fplt -lm
// cross: aarch64 riscv64
/* Calls into libc and libm through the PLT: JUMP_SLOT relocations, bound at load. Each
 * function's result depends on which function its slot was bound to, so a slot bound to the
 * wrong symbol (or left unbound) changes a result or crashes. qsort calls back into the plugin
 * through a function pointer (a RELATIVE relocation); lc_weak_fn is an unresolved weak function
 * (its slot binds to 0). libc_calls_noplt.c is this same file built with -fno-plt: the same calls
 * through GOT entries (GLOB_DAT) instead. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lc_strlen(const char *s) { return strlen(s); }
int lc_atoi(const char *s) { return atoi(s); }
int lc_abs(int x) { return abs(x); }
int lc_toupper(int c) { return toupper(c); }
int lc_strcmp(const char *a, const char *b) { return strcmp(a, b); }
double lc_cos(double x) { return cos(x); }
int lc_format(char *buf, size_t n, int v, const char *s) { return snprintf(buf, n, "<%d:%s>", v, s); }

static int by_value(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}
void lc_sort(int *v, size_t n) { qsort(v, n, sizeof *v, by_value); }

extern int lc_weak_fn(void) __attribute__((weak));
int lc_weak_fn_is_null(void) { return lc_weak_fn == 0; }
int lc_call_weak_or(int otherwise) { return lc_weak_fn ? lc_weak_fn() : otherwise; }
