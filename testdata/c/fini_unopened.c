/* A plugin that cannot be opened (an import nothing defines): its finaliser never runs. */
#include "fini_note.h"

extern int fini_nothing_defines_this(void);
__attribute__((destructor)) static void unopened_fini(void) { note("unopened fini_array"); }
int fini_unopened(void) { return fini_nothing_defines_this(); }
