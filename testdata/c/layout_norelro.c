// build: -Wl,-z,norelro
/* layout.c linked with -Wl,-z,norelro. */
#include "layout.c"
