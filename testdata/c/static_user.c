// build: -fno-builtin
/* A normal C plugin using libc (printf, malloc, snprintf, strlen, fflush, free): in a static
 * host these resolve from the executable's own symbol table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int static_user(int n) {
    char *buf = malloc(64);
    if (!buf) return -1;
    snprintf(buf, 64, "static user %d", n);
    printf("%s\n", buf);
    fflush(stdout);
    int len = (int)strlen(buf);
    free(buf);
    return len;
}
