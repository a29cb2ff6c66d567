// build: -Wl,-z,now
/* layout.c linked with -Wl,-z,now. */
#include "layout.c"
