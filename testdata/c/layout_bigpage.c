// build: -Wl,-z,max-page-size=0x200000
/* layout.c linked with -Wl,-z,max-page-size=0x200000. */
#include "layout.c"
