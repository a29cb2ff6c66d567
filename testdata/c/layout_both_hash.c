// build: -Wl,--hash-style=both
/* layout.c linked with -Wl,--hash-style=both. */
#include "layout.c"
