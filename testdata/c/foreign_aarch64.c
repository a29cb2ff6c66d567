// cc: aarch64-linux-gnu-gcc
/* An aarch64 plugin, examined by the dry run on any host: its relocations (ABS64, RELATIVE,
 * GLOB_DAT, JUMP_SLOT) go through aarch64's table and formulas in dynplug-arch. */
#include <stdio.h>
#include <string.h>

int answer = 42;
int *abs_ptr = &answer;
int *abs_plus = &answer + 3; /* an addend: S + A */
static int table[4] = {1, 2, 3, 4};
int *rel_ptr = &table[2];
size_t call_strlen(const char *s) { return strlen(s); }
void say(void) { printf("%d\n", answer); }
