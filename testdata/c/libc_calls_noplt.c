// build: -fno-builtin -fno-plt -lm
/* libc_calls.c built with -fno-plt: every call to libc and libm goes through a GOT entry
 * (GLOB_DAT), and the object has no JUMP_SLOT relocation at all. */
#include "libc_calls.c"
