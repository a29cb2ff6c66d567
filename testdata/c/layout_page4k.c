// build: -Wl,-z,max-page-size=0x1000 -Wl,-z,common-page-size=0x1000
/* layout.c linked for 4K pages (-z max-page-size=0x1000): aarch64 kernels run 4K, 16K or 64K pages. */
#include "layout.c"
