// build: -Wl,-z,noseparate-code
/* layout.c linked with -Wl,-z,noseparate-code. */
#include "layout.c"
