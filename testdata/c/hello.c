// cross: aarch64 riscv64
/* The Go plugin documentation's example, in C: the host sets V, then calls F. */
#include <stdio.h>

int V;

void F(void) { printf("Hello, number %d\n", V); }
