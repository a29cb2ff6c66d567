// build: -Wl,--hash-style=sysv
/* layout.c linked with -Wl,--hash-style=sysv. */
#include "layout.c"
