// cc: riscv64-linux-gnu-gcc
/* A riscv64 plugin, examined by the dry run on any host: its relocations (R_RISCV_64 for data
 * and GOT entries, RELATIVE, JUMP_SLOT, TLS_DTPMOD64 and TLS_DTPREL64 for a global-dynamic
 * variable) go through riscv64's table and formulas in dynplug-arch. */
#include <stdio.h>
#include <string.h>

int answer = 42;
int *abs_ptr = &answer;
int *abs_plus = &answer + 3; /* an addend: S + A */
static int table[4] = {1, 2, 3, 4};
int *rel_ptr = &table[2];
__thread int counter = 7;
size_t call_strlen(const char *s) { return strlen(s); }
void say(void) { printf("%d\n", answer); }
int *counter_addr(void) { return &counter; }
